package org.emovit.devtools.gguf;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A GGUF version 3 file, written front to back without holding the tensors: metadata and tensor shapes first, then
 * each tensor's bytes in the order the tensors were added, streamed through {@link #write}. Layout (little-endian):
 * magic "GGUF", version, tensor count, KV count, the KVs, the tensor infos (name, dims with ne[0] first, ggml type,
 * offset into the data section), zero padding to {@value #ALIGNMENT} bytes, then the tensors, each starting on a
 * multiple of {@value #ALIGNMENT} (llama.cpp's default general.alignment, so the file needs no alignment key).
 */
public final class GgufWriter implements Closeable {
    public static final int ALIGNMENT = 32;
    private static final int VERSION = 3;

    // GGUF metadata value types
    private static final int UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9;

    private record TensorInfo(String name, GgmlType type, long[] ne, long offset, long bytes) {}

    private final Path file;
    private final LittleEndian kv = new LittleEndian();
    private final Set<String> keys = new HashSet<>();
    private final List<TensorInfo> tensors = new ArrayList<>();
    private long dataBytes;
    private FileChannel out;
    private int current;             // the tensor that write() is filling
    private long writtenOfCurrent;

    public GgufWriter(Path file) {
        this.file = file;
    }

    public void putString(String key, String value) {
        kv(key, STRING).string(value);
    }

    public void putUint32(String key, long value) {
        if (value < 0 || value > 0xffffffffL) {
            throw new IllegalArgumentException(key + " = " + value + " does not fit in uint32");
        }
        kv(key, UINT32).u32((int) value);
    }

    public void putFloat32(String key, float value) {
        kv(key, FLOAT32).f32(value);
    }

    public void putBool(String key, boolean value) {
        kv(key, BOOL).write(value ? 1 : 0);
    }

    public void putStrings(String key, List<String> values) {
        kv(key, ARRAY).u32(STRING).u64(values.size());
        values.forEach(kv::string);
    }

    public void putFloat32s(String key, float[] values) {
        kv(key, ARRAY).u32(FLOAT32).u64(values.length);
        for (float v : values) {
            kv.f32(v);
        }
    }

    public void putInt32s(String key, int[] values) {
        kv(key, ARRAY).u32(INT32).u64(values.length);
        for (int v : values) {
            kv.u32(v);
        }
    }

    /**
     * Declares the next tensor: {@code ne} in ggml's order, ne[0] the length of a contiguous row (a PyTorch
     * [out, in] weight is ne = {in, out}).
     */
    public void addTensor(String name, GgmlType type, long... ne) {
        notStarted();
        if (ne.length == 0 || ne.length > 4) {
            throw new IllegalArgumentException("tensor " + name + ": 1 to 4 dimensions, not " + ne.length);
        }
        if (ne[0] % type.blockElements != 0) {
            throw new IllegalArgumentException("tensor " + name + ": a " + type + " row holds whole blocks of "
                    + type.blockElements + ", not " + ne[0] + " values");
        }
        long elements = 1;
        for (long n : ne) {
            elements = Math.multiplyExact(elements, n);
        }
        long bytes = type.bytes(elements);
        tensors.add(new TensorInfo(name, type, ne.clone(), dataBytes, bytes));
        dataBytes = align(dataBytes + bytes);
    }

    /** Bytes of the file once complete. */
    public long fileBytes() {
        return align(header().length) + dataBytes;
    }

    /**
     * Appends bytes of the tensor being filled (the header goes out first, on the first call). A write must not
     * run past the end of its tensor; the next write goes to the next tensor once one is full.
     */
    public void write(ByteBuffer bytes) throws IOException {
        if (out == null) {
            start();
        }
        if (current >= tensors.size()) {
            throw new IllegalStateException(file + ": " + bytes.remaining() + " bytes past the last tensor");
        }
        TensorInfo t = tensors.get(current);
        if (writtenOfCurrent + bytes.remaining() > t.bytes()) {
            throw new IllegalStateException(file + ": tensor " + t.name() + " holds " + t.bytes() + " bytes, "
                    + (writtenOfCurrent + bytes.remaining()) + " written");
        }
        writtenOfCurrent += writeFully(bytes);
        if (writtenOfCurrent == t.bytes()) {
            writeFully(ByteBuffer.allocate((int) (align(t.bytes()) - t.bytes())));
            current++;
            writtenOfCurrent = 0;
        }
    }

    /** Closes the file; an error names the first tensor not fully written. */
    @Override
    public void close() throws IOException {
        if (out == null) {
            start();
        }
        out.close();
        if (current < tensors.size()) {
            TensorInfo t = tensors.get(current);
            throw new IOException(file + ": tensor " + t.name() + " has " + writtenOfCurrent + " of its " + t.bytes()
                    + " bytes (" + (tensors.size() - current) + " tensors incomplete)");
        }
    }

    private void start() throws IOException {
        byte[] header = header();
        out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        writeFully(ByteBuffer.wrap(header));
        writeFully(ByteBuffer.allocate((int) (align(header.length) - header.length)));
    }

    private byte[] header() {
        LittleEndian h = new LittleEndian();
        h.write('G');
        h.write('G');
        h.write('U');
        h.write('F');
        h.u32(VERSION).u64(tensors.size()).u64(keys.size());
        h.write(kv.toByteArray(), 0, kv.size());
        for (TensorInfo t : tensors) {
            h.string(t.name()).u32(t.ne().length);
            for (long n : t.ne()) {
                h.u64(n);
            }
            h.u32(t.type().id).u64(t.offset());
        }
        return h.toByteArray();
    }

    private int writeFully(ByteBuffer bytes) throws IOException {
        int n = bytes.remaining();
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
        return n;
    }

    private LittleEndian kv(String key, int type) {
        notStarted();
        if (!keys.add(key)) {
            throw new IllegalArgumentException("metadata key " + key + " given twice");
        }
        return kv.string(key).u32(type);
    }

    private void notStarted() {
        if (out != null) {
            throw new IllegalStateException(file + ": metadata and tensors are declared before any tensor data");
        }
    }

    private static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** GGUF's scalars and strings (uint64 byte length, UTF-8, no terminator), little-endian. */
    private static final class LittleEndian extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        LittleEndian u32(int v) {
            scratch.clear();
            write(scratch.putInt(v).array(), 0, 4);
            return this;
        }

        LittleEndian u64(long v) {
            scratch.clear();
            write(scratch.putLong(v).array(), 0, 8);
            return this;
        }

        LittleEndian f32(float v) {
            return u32(Float.floatToRawIntBits(v));
        }

        LittleEndian string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            write(utf8, 0, utf8.length);
            return this;
        }
    }
}
