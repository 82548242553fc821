package org.emovit.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor's bytes: little-endian, contiguous row-major, exactly {@code numel * dtype.byteSize()} bytes.
 * {@code data} may be a slice of a memory-mapped file (no copy).
 *
 * <p>The canonical constructor takes the bytes between the buffer's position and limit (it does not copy
 * them). The accessors return copies of {@code shape} and independent views ({@link ByteBuffer#duplicate()},
 * position 0, little-endian order) of {@code data}, so callers may move a returned buffer's position freely.
 * A read-only buffer stays read-only.
 */
public record RawTensor(DType dtype, long[] shape, ByteBuffer data) {

    public RawTensor {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        shape = shape.clone();
        long expected = byteCount(dtype, shape);
        if (data.remaining() != expected) {
            throw new IllegalArgumentException("tensor data has " + data.remaining() + " bytes, expected " + expected
                    + " for " + dtype + " " + Arrays.toString(shape));
        }
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Number of elements: the product of the shape (1 for a scalar with shape []). */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes needed for a tensor of this type and shape. */
    public static long byteCount(DType dtype, long[] shape) {
        return Math.multiplyExact(numel(shape), (long) dtype.byteSize());
    }

    public long numel() {
        return numel(shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public ByteBuffer data() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code i} (negative {@code i} counts from the end). */
    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    /** Bytes of data ({@code numel * dtype.byteSize()}). */
    public long nbytes() {
        return data.capacity();
    }

    /** An F32 tensor holding a copy of {@code values}. */
    public static RawTensor ofFloats(long[] shape, float[] values) {
        checkCount(shape, values.length);
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new RawTensor(DType.F32, shape, b);
    }

    /** An I64 tensor holding a copy of {@code values}. */
    public static RawTensor ofLongs(long[] shape, long[] values) {
        checkCount(shape, values.length);
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return new RawTensor(DType.I64, shape, b);
    }

    /** A tensor of any type from little-endian bytes (not copied). */
    public static RawTensor of(DType dtype, long[] shape, byte[] littleEndianBytes) {
        return new RawTensor(dtype, shape, ByteBuffer.wrap(littleEndianBytes));
    }

    private static void checkCount(long[] shape, int count) {
        long n = numel(shape);
        if (n != count) {
            throw new IllegalArgumentException(count + " values do not fill shape " + Arrays.toString(shape)
                    + " (" + n + " elements)");
        }
    }

    private int intNumel() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new WeightsException("tensor " + dtype + " " + Arrays.toString(shape) + " has " + n
                    + " elements, too many for one Java array");
        }
        return (int) n;
    }

    /** The values as floats: F32 as is, F16/BF16 widened, F64 and integers converted, BOOL as 0/1. */
    public float[] toFloatArray() {
        int n = intNumel();
        float[] out = new float[n];
        ByteBuffer b = data;
        switch (dtype) {
            case F32 -> b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(i * 8);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Half.toFloat(b.getShort(i * 2));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xffff) << 16);
                }
            }
            default -> {   // integers and bool, as toLongArray reads them
                for (int i = 0; i < n; i++) {
                    out[i] = integerAt(i);
                }
            }
        }
        return out;
    }

    /**
     * The values as longs (I64, I32, I16, I8 sign-extended, U8 zero-extended, BOOL as 0/1).
     *
     * @throws WeightsException for floating-point tensors
     */
    public long[] toLongArray() {
        if (dtype.isFloatingPoint()) {
            throw new WeightsException("toLongArray needs an integer or bool tensor, this one is " + dtype + " "
                    + Arrays.toString(shape));
        }
        int n = intNumel();
        long[] out = new long[n];
        ByteBuffer b = data;
        switch (dtype) {
            case I64 -> b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
            default -> {
                for (int i = 0; i < n; i++) {
                    out[i] = integerAt(i);
                }
            }
        }
        return out;
    }

    /** Element i of an integer or bool tensor, widened: I8 sign-extended, U8 zero-extended, BOOL as 0/1. */
    private long integerAt(int i) {
        return switch (dtype) {
            case I64 -> data.getLong(i * 8);
            case I32 -> data.getInt(i * 4);
            case I16 -> data.getShort(i * 2);
            case I8 -> data.get(i);
            case U8 -> data.get(i) & 0xff;
            case BOOL -> data.get(i) != 0 ? 1 : 0;
            default -> throw new AssertionError(dtype);
        };
    }

    /** Same dtype, same shape and the same bytes. */
    @Override
    public boolean equals(Object o) {
        return o instanceof RawTensor t && t.dtype == dtype && Arrays.equals(t.shape, shape) && t.data.equals(data);
    }

    @Override
    public int hashCode() {
        return 31 * dtype.hashCode() + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return "RawTensor[" + dtype + " " + Arrays.toString(shape) + "]";
    }
}
