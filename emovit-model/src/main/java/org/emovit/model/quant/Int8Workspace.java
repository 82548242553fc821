package org.emovit.model.quant;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Owned;
import org.emovit.model.Tensors;

/**
 * The one buffer a model's int8 Linears are converted into on the GEMM path, reused from Linear to Linear. A
 * fresh [N, K] tensor per call fragments the heap: freed, its block is split by the small tensors a layer keeps (the
 * KV cache's), so the next conversion no longer fits and the heap grows layer by layer. Letting malloc map such
 * blocks instead (and unmap them when freed) keeps the RSS flat but costs a page fault per 4 KB of every conversion,
 * which doubles a prefill. Matrices larger than {@link #MAX_ELEMENTS} (the LM head over a score-mode batch) are converted a
 * block of rows at a time, so the buffer stays the size of a layer's largest matrix. Its calls are serialised:
 * a model shared by threads shares the buffer.
 */
public final class Int8Workspace implements AutoCloseable {
    /** 64 Mi elements (128 MB in bf16): a 7B MLP matrix (45 M) in one piece, the LM head (131 M) in three. */
    static final long MAX_ELEMENTS = 1L << 26;

    private final long maxElements;
    private Tensor buffer;

    public Int8Workspace() {
        this(MAX_ELEMENTS);
    }

    /** With a smaller cap, for tests of the block-by-block path. */
    Int8Workspace(long maxElements) {
        this.maxElements = maxElements;
    }

    /** x [..., K] @ (values [N, K] * scales [N, None])^T, through the buffer. */
    synchronized Tensor linear(Tensor x, Tensor values, Tensor scales) {
        ScalarType dtype = x.scalar_type().intern();
        long n = values.size(0), k = values.size(1);
        long rowsPerBlock = Math.max(1, Math.min(n, maxElements / k));
        Tensor flat = buffer(dtype, rowsPerBlock * k, x.device());
        return Owned.handBack(Owned.step(() -> {
            if (rowsPerBlock == n) {
                return torch.linear(x, converted(flat, values, 0, n)).mul_(scales);
            }
            org.bytedeco.pytorch.TensorVector parts = new org.bytedeco.pytorch.TensorVector();
            for (long row = 0; row < n; row += rowsPerBlock) {
                parts.push_back(torch.linear(x, converted(flat, values, row, Math.min(rowsPerBlock, n - row))));
            }
            return torch.cat(parts, -1).mul_(scales);
        }));
    }

    /**
     * The buffer's first {@code n} bytes as int8 [n]: where a loader reads or quantises an int8 weight before
     * packing it (see {@link PackedInt8}), one weight at a time.
     */
    public synchronized Tensor bytes(long n) {
        return buffer(ScalarType.Char, n, new org.bytedeco.pytorch.Device("cpu")).narrow(0, 0, n);
    }

    /** Rows [row, row + rows) of the int8 values, converted into the front of the buffer. */
    private static Tensor converted(Tensor flat, Tensor values, long row, long rows) {
        long k = values.size(1);
        return flat.narrow(0, 0, rows * k).view(rows, k).copy_(values.narrow(0, row, rows));
    }

    /** The buffer, grown (or remade in another dtype) when it cannot hold {@code elements}. */
    private Tensor buffer(ScalarType dtype, long elements, org.bytedeco.pytorch.Device device) {
        if (buffer == null || buffer.scalar_type().intern() != dtype || buffer.numel() < elements) {
            close();
            buffer = Owned.own(torch.empty(new long[] {elements}, Tensors.options(dtype, device),
                    new org.bytedeco.pytorch.MemoryFormatOptional()));
        }
        return buffer;
    }

    @Override
    public synchronized void close() {
        if (buffer != null) {
            buffer.close();
            buffer = null;
        }
    }
}
