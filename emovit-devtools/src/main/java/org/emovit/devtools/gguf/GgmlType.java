package org.emovit.devtools.gguf;

import java.nio.ByteBuffer;

/**
 * The ggml tensor types this writer makes, with their ids in a GGUF file (ggml's enum ggml_type), their block
 * layout, and the llama_ftype a whole file of them is labelled with (general.file_type).
 */
public enum GgmlType {
    F32(0, 1, 4, 0),
    F16(1, 1, 2, 1),
    /** Blocks of 32: fp16 scale, then 16 bytes of 4-bit values (element j low nibble, element j+16 high). */
    Q4_0(2, 32, 2 + 16, 2),
    /** Blocks of 32: fp16 scale, then 32 int8 values. */
    Q8_0(8, 32, 2 + 32, 7);

    /** ggml_type id written in a tensor info. */
    public final int id;
    /** Elements per block; a row's length must be a multiple of it. */
    public final int blockElements;
    /** Bytes per block. */
    public final int blockBytes;
    /** llama_ftype of a file whose matrices are all of this type. */
    public final int fileType;

    GgmlType(int id, int blockElements, int blockBytes, int fileType) {
        this.id = id;
        this.blockElements = blockElements;
        this.blockBytes = blockBytes;
        this.fileType = fileType;
    }

    /** F32, F16, Q8_0 or Q4_0 (case-insensitive); anything else is an error naming the known types. */
    public static GgmlType parse(String name) {
        for (GgmlType t : values()) {
            if (t.name().equalsIgnoreCase(name.trim())) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown GGUF tensor type '" + name + "' (known: F32, F16, Q8_0, Q4_0)");
    }

    /** Bytes of {@code elements} values of this type ({@code elements} a multiple of the block size). */
    public long bytes(long elements) {
        if (elements % blockElements != 0) {
            throw new IllegalArgumentException(name() + " holds blocks of " + blockElements + " values, not " + elements);
        }
        return elements / blockElements * blockBytes;
    }

    /** Appends {@code count} values of {@code src} from {@code offset} in this type to {@code dst} (little-endian). */
    public void encode(float[] src, int offset, int count, ByteBuffer dst) {
        if (count % blockElements != 0) {
            throw new IllegalArgumentException(name() + " holds blocks of " + blockElements + " values, not " + count);
        }
        switch (this) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    dst.putFloat(src[offset + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst.putShort(Half.fromFloat(src[offset + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < count; b += 32) {
                    GgmlBlocks.q8_0(src, offset + b, dst);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < count; b += 32) {
                    GgmlBlocks.q4_0(src, offset + b, dst);
                }
            }
        }
    }
}
