package org.emovit.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * PyTorch tensor views: a tensor is {@code storage[offset + sum(i_k * stride[k])]} for each index tuple
 * {@code (i_0 .. i_{n-1})} of its shape, with offset and strides counted in elements. A view is contiguous
 * (row-major) when every dimension of size greater than 1 has the stride of a packed row-major array; then
 * it is the {@code numel} elements starting at {@code offset} and can be sliced without copying. Otherwise
 * (transposes, expands with stride 0, every-other-element slices, ...) it must be copied element by element
 * into a packed buffer, which {@link #materialize} does.
 */
final class Strided {
    private Strided() {
    }

    /** True if the view {@code (shape, stride)} is packed row-major (dimensions of size 1 may have any stride). */
    static boolean isContiguous(long[] shape, long[] stride) {
        check(shape, stride);
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 0) {
                return true;
            }
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /**
     * The largest storage element index the view touches plus one, i.e. how many storage elements it needs
     * (0 for an empty view).
     */
    static long extent(long offset, long[] shape, long[] stride) {
        check(shape, stride);
        long max = offset;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) {
                return 0;
            }
            max = Math.addExact(max, Math.multiplyExact(shape[i] - 1, stride[i]));
        }
        return max + 1;
    }

    /**
     * Copies the strided view into a new packed, row-major, little-endian heap buffer.
     *
     * @param storage  the storage bytes, indexed from 0 (its position and limit are ignored; capacity bounds
     *                 the elements)
     * @param elemSize bytes per element
     * @param offset   first element of the view, in elements
     * @param shape    view shape
     * @param stride   view strides, in elements (non-negative)
     */
    static ByteBuffer materialize(ByteBuffer storage, int elemSize, long offset, long[] shape, long[] stride) {
        check(shape, stride);
        long numel = RawTensor.numel(shape);
        long bytes = Math.multiplyExact(numel, (long) elemSize);
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new WeightsException("a non-contiguous view of " + Arrays.toString(shape) + " (" + bytes
                    + " bytes) is too large to copy into one buffer");
        }
        ByteBuffer out = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (numel == 0) {
            return out;
        }
        long need = Math.multiplyExact(extent(offset, shape, stride), (long) elemSize);
        if (offset < 0 || need > storage.capacity()) {
            throw new WeightsException("view offset " + offset + ", shape " + Arrays.toString(shape) + ", stride "
                    + Arrays.toString(stride) + " needs " + need + " bytes but the storage has " + storage.capacity());
        }
        ByteBuffer src = storage.duplicate();
        src.clear();
        int rank = shape.length;
        if (rank == 0) {
            out.put(0, src, (int) (offset * elemSize), elemSize);
            return out;
        }
        // Copy runs along the last dimension; a run is one block copy when its stride is 1.
        long inner = shape[rank - 1];
        long innerStride = stride[rank - 1];
        long[] idx = new long[rank - 1];
        long base = offset;
        int dst = 0;
        long rows = numel / inner;
        for (long r = 0; r < rows; r++) {
            if (innerStride == 1) {
                int len = (int) (inner * elemSize);
                out.put(dst, src, (int) (base * elemSize), len);
                dst += len;
            } else {
                long e = base;
                for (long j = 0; j < inner; j++) {
                    out.put(dst, src, (int) (e * elemSize), elemSize);
                    dst += elemSize;
                    e += innerStride;
                }
            }
            // advance the outer index odometer
            for (int k = rank - 2; k >= 0; k--) {
                idx[k]++;
                base += stride[k];
                if (idx[k] < shape[k]) {
                    break;
                }
                base -= stride[k] * shape[k];
                idx[k] = 0;
            }
        }
        return out;
    }

    private static void check(long[] shape, long[] stride) {
        if (shape.length != stride.length) {
            throw new WeightsException("view has shape " + Arrays.toString(shape) + " but stride "
                    + Arrays.toString(stride));
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0 || stride[i] < 0) {
                throw new WeightsException("view has negative size or stride: shape " + Arrays.toString(shape)
                        + ", stride " + Arrays.toString(stride));
            }
        }
    }
}
