package org.emovit.devtools.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF reader for the tests, written from the format's description and sharing no code with the writer: the
 * header, every KV (arrays as lists), the tensor infos, and each tensor's values dequantised (F32, F16, Q8_0, Q4_0).
 */
final class GgufFile {
    record Info(String name, long[] ne, int type, long offset) {
        long elements() {
            long n = 1;
            for (long d : ne) {
                n *= d;
            }
            return n;
        }
    }

    final int version;
    final Map<String, Object> kv = new LinkedHashMap<>();
    final Map<String, Info> tensors = new LinkedHashMap<>();
    final long dataStart;
    final long fileSize;
    private final ByteBuffer buf;

    GgufFile(Path path) throws IOException {
        buf = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        fileSize = buf.capacity();
        byte[] magic = new byte[4];
        buf.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) {
            throw new IOException(path + ": not GGUF");
        }
        version = buf.getInt();
        long tensorCount = buf.getLong(), kvCount = buf.getLong();
        for (long i = 0; i < kvCount; i++) {
            String key = string();
            kv.put(key, value(buf.getInt()));
        }
        for (long i = 0; i < tensorCount; i++) {
            String name = string();
            long[] ne = new long[buf.getInt()];
            for (int d = 0; d < ne.length; d++) {
                ne[d] = buf.getLong();
            }
            tensors.put(name, new Info(name, ne, buf.getInt(), buf.getLong()));
        }
        long alignment = kv.containsKey("general.alignment") ? ((Number) kv.get("general.alignment")).longValue() : 32;
        dataStart = (buf.position() + alignment - 1) / alignment * alignment;
    }

    /** Bytes a tensor's data takes, by the ggml block sizes (independent of GgmlType). */
    static long dataBytes(Info t) {
        return switch (t.type()) {
            case 0 -> t.elements() * 4;
            case 1 -> t.elements() * 2;
            case 2 -> t.elements() / 32 * 18;
            case 8 -> t.elements() / 32 * 34;
            default -> throw new IllegalArgumentException("type " + t.type());
        };
    }

    /** The raw bytes of a tensor. */
    byte[] raw(String name) {
        Info t = tensors.get(name);
        byte[] out = new byte[(int) dataBytes(t)];
        buf.get((int) (dataStart + t.offset()), out);
        return out;
    }

    /** A tensor's values as ggml's dequantize_row_* define them. */
    float[] values(String name) {
        Info t = tensors.get(name);
        ByteBuffer b = ByteBuffer.wrap(raw(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] x = new float[(int) t.elements()];
        switch (t.type()) {
            case 0 -> b.asFloatBuffer().get(x);
            case 1 -> {
                for (int i = 0; i < x.length; i++) {
                    x[i] = half(b.getShort());
                }
            }
            case 8 -> {
                for (int blk = 0; blk < x.length; blk += 32) {
                    float d = half(b.getShort());
                    for (int j = 0; j < 32; j++) {
                        x[blk + j] = b.get() * d;
                    }
                }
            }
            case 2 -> {
                for (int blk = 0; blk < x.length; blk += 32) {
                    float d = half(b.getShort());
                    for (int j = 0; j < 16; j++) {
                        int q = b.get() & 0xff;
                        x[blk + j] = ((q & 0x0f) - 8) * d;
                        x[blk + 16 + j] = ((q >>> 4) - 8) * d;
                    }
                }
            }
            default -> throw new IllegalArgumentException("type " + t.type());
        }
        return x;
    }

    /** binary16 to float by its definition: (-1)^s * 2^(e-15) * 1.m, or 2^-14 * 0.m for e = 0. */
    static float half(short h) {
        int s = (h >>> 15) & 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
        double v = e == 0 ? Math.scalb((double) m, -24) : e == 31 ? (m == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                : Math.scalb((double) (1024 + m), e - 25);
        return (float) (s == 1 ? -v : v);
    }

    private String string() {
        byte[] b = new byte[(int) buf.getLong()];
        buf.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private Object value(int type) {
        return switch (type) {
            case 0 -> buf.get() & 0xff;
            case 1 -> (int) buf.get();
            case 2 -> buf.getShort() & 0xffff;
            case 3 -> (int) buf.getShort();
            case 4 -> buf.getInt() & 0xffffffffL;
            case 5 -> buf.getInt();
            case 6 -> buf.getFloat();
            case 7 -> switch (buf.get()) {
                case 0 -> false;
                case 1 -> true;
                default -> throw new IllegalStateException("bool that is neither 0 nor 1");
            };
            case 8 -> string();
            case 9 -> {
                int elementType = buf.getInt();
                long n = buf.getLong();
                List<Object> list = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    list.add(value(elementType));
                }
                yield list;
            }
            case 10 -> buf.getLong();
            case 11 -> buf.getLong();
            case 12 -> buf.getDouble();
            default -> throw new IllegalStateException("unknown GGUF value type " + type);
        };
    }
}
