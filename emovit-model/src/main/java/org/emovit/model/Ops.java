package org.emovit.model;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Thin, named wrappers over libtorch calls the models use many times, so that the model files read like
 * the Python ones. Everything here is a libtorch operator; nothing is computed by hand. Who frees a tensor is
 * {@link Owned}'s concern, not this class's.
 */
public final class Ops {
    private Ops() {}

    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (x.dim() == 3 && x.size(1) == 1 && x.stride(0) != x.size(2)) {
            // One position cut out of [B, T, D] (the last one, for the LM head): at::matmul does not fold such a
            // tensor into a matrix and runs a batched kernel over an expanded weight, 50x slower than mm at the 7B
            // LM head (615 ms against 12.6 ms); as the 2-D view [B, D] it is one mm.
            return linear(x.select(1, 0), weight, bias).unsqueeze(1);
        }
        return bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias));
    }

    /** A Linear's weight, dense or quantised ({@link LinearWeight}): x W^T + bias either way. */
    public static Tensor linear(Tensor x, LinearWeight weight, Tensor bias) {
        if (!weight.quantized()) {
            return linear(x, weight.dense(), bias);
        }
        if (x.dim() == 3 && x.size(1) == 1 && x.stride(0) != x.size(2)) {
            return linear(x.select(1, 0), weight, bias).unsqueeze(1);
        }
        Tensor y = weight.quantizedMatmul(x);
        return bias == null ? y : y.add_(bias);
    }

    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        return torch.layer_norm(x, new long[] {x.size(-1)}, new TensorOptional(weight), new TensorOptional(bias), eps, false);
    }

    /** GELU with the exact erf form, as nn.GELU() and BERT's "gelu" use. */
    public static Tensor gelu(Tensor x) {
        return torch.gelu(x);
    }

    /**
     * softmax(q k^T * scale + mask) v over [B, H, T, d] tensors; mask is additive (0 or a large negative).
     *
     * <p>libtorch's fused SDPA everywhere but in bf16/fp16 on the CPU: there its kernel is 20-30x slower than the
     * three ops below (libtorch 2.10 on an AVX-512-BF16 CPU: a 7B prefill layer's attention 21.9 ms against 0.77
     * ms, a ViT-g layer's 54 ms against 1.8 ms; in float32 SDPA is the faster one). The three ops are HF's "eager"
     * attention: scores in the tensors' dtype, the softmax in float32 and cast back. Unlike SDPA they hold the whole
     * score matrix, so long sequences go a block of query rows at a time (at most {@link #EAGER_BLOCK_BYTES} of
     * scores and probabilities per block: a 4096-token prompt would otherwise take 4 GB per layer at the 7B size).
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor additiveMask, double scale) {
        if (!q.is_cuda() && isReducedFloat(q)) {
            return eagerAttention(q, k, v, additiveMask, scale, EAGER_BLOCK_BYTES);
        }
        TensorOptional mask = additiveMask == null ? new TensorOptional() : new TensorOptional(additiveMask);
        return torch.scaled_dot_product_attention(q, k, v, mask, 0.0, false, new DoubleOptional(scale), false);
    }

    /** Bytes of scores and probabilities one block of the CPU's eager bf16 attention may hold. */
    static final long EAGER_BLOCK_BYTES = 256L << 20;

    /** The eager attention over blocks of query rows, each holding at most {@code blockBytes} of scores. */
    static Tensor eagerAttention(Tensor q, Tensor k, Tensor v, Tensor additiveMask, double scale, long blockBytes) {
        long t = q.size(-2);
        long bytesPerRow = q.numel() / (t * q.size(-1)) * k.size(-2) * 8;   // bf16 scores + f32 and bf16 probabilities
        long rows = Math.max(1, blockBytes / bytesPerRow);
        if (rows >= t) {
            return eagerAttention(q, k, v, additiveMask, scale);
        }
        TensorVector blocks = new TensorVector();
        java.util.List<Tensor> owned = new java.util.ArrayList<>();
        for (long from = 0; from < t; from += rows) {
            long n = Math.min(rows, t - from), start = from;
            Tensor mask = additiveMask == null || additiveMask.size(-2) == 1 ? additiveMask : additiveMask.narrow(-2, start, n);
            Tensor block = Owned.step(() -> eagerAttention(q.narrow(-2, start, n), k, v, mask, scale));   // frees each block's scores
            owned.add(block);
            blocks.push_back(block);
        }
        Tensor out = torch.cat(blocks, -2);
        owned.forEach(Tensor::close);
        return out;
    }

    private static Tensor eagerAttention(Tensor q, Tensor k, Tensor v, Tensor additiveMask, double scale) {
        Tensor scores = torch.matmul(q, k.transpose(-2, -1)).mul_(new Scalar(scale));
        if (additiveMask != null) {
            scores.add_(additiveMask);
        }
        Tensor probs = torch.softmax(scores, -1, new ScalarTypeOptional(ScalarType.Float)).to(q.scalar_type());
        return torch.matmul(probs, v);
    }

    private static boolean isReducedFloat(Tensor t) {
        ScalarType type = t.scalar_type().intern();
        return type == ScalarType.BFloat16 || type == ScalarType.Half;
    }

    /** [B, T, H*d] -> [B, H, T, d]. */
    public static Tensor splitHeads(Tensor x, long heads) {
        long b = x.size(0), t = x.size(1), d = x.size(2) / heads;
        if (t == 1) {
            return x.view(b, heads, 1, d);   // a decoding step: the same layout without the transpose op
        }
        return x.view(b, t, heads, d).transpose(1, 2);
    }

    /** [B, H, T, d] -> [B, T, H*d]. */
    public static Tensor mergeHeads(Tensor x) {
        long b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
        if (t == 1) {
            return x.reshape(b, 1, h * d);   // swapping a dimension of size 1 changes no element's order
        }
        return x.transpose(1, 2).reshape(b, t, h * d);
    }

    public static Tensor cat(long dim, Tensor... parts) {
        TensorVector v = new TensorVector(parts);
        return torch.cat(v, dim);
    }

    /** x[:, start:end] along dim (end exclusive). */
    public static Tensor slice(Tensor x, long dim, long start, long end) {
        return x.slice(dim, new LongOptional(start), new LongOptional(end), 1);
    }

    /**
     * Positions counted over the real tokens of each row ([B, T] 0/1 mask -> [B, T]), as HF's generate derives
     * them: left padding shifts a row's positions; padded slots get 1 (they are masked out anyway).
     */
    public static Tensor positionsFromMask(Tensor mask) {
        return mask.cumsum(1).sub(new Scalar(1)).masked_fill(mask.eq(new Scalar(0)), new Scalar(1));
    }

    public static Scalar scalar(double v) {
        return new Scalar(v);
    }

    /** Additive attention bias from a 0/1 key mask [B, S]: 0 where attended, the dtype's lowest value where not. */
    public static Tensor keyMaskBias(Tensor mask01, org.bytedeco.pytorch.global.torch.ScalarType dtype) {
        Tensor keep = mask01.to(torch.ScalarType.Bool);
        Tensor zeros = torch.zeros(new long[] {mask01.size(0), 1, 1, mask01.size(1)}, Tensors.options(dtype, mask01.device()));
        return zeros.masked_fill(keep.logical_not().view(mask01.size(0), 1, 1, mask01.size(1)), scalar(Tensors.lowest(dtype)));
    }
}
