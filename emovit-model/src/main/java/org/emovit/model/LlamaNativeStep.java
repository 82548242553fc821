package org.emovit.model;

import java.util.List;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.quant.Int4Format;
import org.emovit.model.quant.Int4Weight;
import org.emovit.model.quant.NativeInt4;

/**
 * {@link LlamaDecoder}'s decoding step (one new position per row, keys and values in a {@link RowSlotCache}) as one
 * native call, for a decoder whose Linear weights are all run by the native 4-bit kernel: at one position a layer's
 * work outside its seven products is a few vector loops, which through libtorch were some sixty operator calls a layer
 * (a quarter of the step at 7B widths). The layer's arithmetic is LlamaDecoder's, in float32 throughout
 * (src/main/c/emovit_decode.c); the keys and values it caches are in the model's dtype, as LlamaDecoder's.
 */
final class LlamaNativeStep {
    /** Per layer: input norm, post-attention norm, then values and params of q, k, v, o, gate, up, down. */
    private static final int TABLE_WIDTH = 16;

    private final Tensor table;   // int64 [layers, TABLE_WIDTH] of addresses into the decoder's weights (it keeps them)
    private final NativeInt4.DecodeOperands operands;
    private final long hidden;
    private final ScalarType dtype;

    private LlamaNativeStep(Tensor table, NativeInt4.DecodeOperands operands, ScalarType dtype) {
        this.table = table;
        this.operands = operands;
        this.hidden = operands.hidden();
        this.dtype = dtype;
    }

    /**
     * The step for these layers ({@code norms[i]}: input and post-attention norm; {@code linears[i]}: q, k, v, o, gate,
     * up, down), or null where it does not apply: not every weight runs on the native kernel (which takes only widths
     * it can multiply), the weights mix the two 4-bit schemes, or the model's dtype is neither bf16 nor float32.
     */
    static LlamaNativeStep of(LlamaConfig config, List<Tensor[]> norms, List<LinearWeight[]> linears, Tensor cos, Tensor sin) {
        if (!NativeInt4.available() || !cos.device().is_cpu() || config.numHeads() % config.numKvHeads() != 0) {
            return null;
        }
        ScalarType dtype = cos.scalar_type().intern();
        if (dtype != ScalarType.BFloat16 && dtype != ScalarType.Float) {
            return null;
        }
        long[] rows = new long[norms.size() * TABLE_WIDTH];
        Int4Format.Scheme scheme = null;   // one for every weight: the step reads them all one way
        for (int l = 0; l < norms.size(); l++) {
            for (int n = 0; n < 2; n++) {
                Tensor norm = norms.get(l)[n];
                if (!norm.is_contiguous() || norm.scalar_type().intern() != dtype) {
                    return null;
                }
                rows[l * TABLE_WIDTH + n] = norm.data_ptr().address();
            }
            LinearWeight[] w = linears.get(l);
            for (int i = 0; i < w.length; i++) {
                Int4Weight int4 = w[i].int4();
                long[] at = int4 == null ? null : int4.nativeOperands();
                if (at == null || (scheme != null && int4.scheme() != scheme)) {
                    return null;
                }
                scheme = int4.scheme();
                rows[l * TABLE_WIDTH + 2 + 2 * i] = at[0];
                rows[l * TABLE_WIDTH + 3 + 2 * i] = at[1];
            }
        }
        if (scheme == null) {
            return null;   // no layers
        }
        Tensor table = Owned.own(Tensors.fromLongs(rows, norms.size(), TABLE_WIDTH));
        return new LlamaNativeStep(table, new NativeInt4.DecodeOperands(table.data_ptr().address(), norms.size(),
                config.hiddenSize(), config.intermediateSize(), config.numHeads(), config.numKvHeads(), config.headDim(),
                (float) config.rmsNormEps(), dtype == ScalarType.BFloat16, scheme.perGroup, cos.data_ptr().address(), sin.data_ptr().address(), cos.size(0)),
                dtype);
    }

    /** Whether this forward is a decoding step the native call takes. */
    boolean takes(Tensor inputsEmbeds, AttentionCache cache, Tensor visible) {
        return cache instanceof RowSlotCache slots && slots.rows() > 0 && visible == null && inputsEmbeds.size(1) == 1
                && !inputsEmbeds.requires_grad() && inputsEmbeds.device().is_cpu() && slots.dtype() == dtype;
    }

    /**
     * The decoder's layers over one new position per row: [B, 1, D] embeddings, [B, 1] key mask and positions; returns
     * the last layer's output [B, 1, D] in the model's dtype (before the final norm), the cache holding the new keys.
     */
    Tensor step(Tensor inputsEmbeds, Tensor keyMask, Tensor positionIds, RowSlotCache cache) {
        long b = inputsEmbeds.size(0);
        cache.appendKeyMask(keyMask.to(inputsEmbeds.device(), ScalarType.Long));
        return Owned.handBack(Owned.step(() -> {
            Tensor h = torch.empty(new long[] {b, hidden}, Tensors.options(ScalarType.Float, inputsEmbeds.device()), new MemoryFormatOptional());
            h.copy_(inputsEmbeds.reshape(b, hidden));
            Tensor positions = positionIds.reshape(b).to(ScalarType.Long).contiguous();
            Tensor buffers = cache.bufferAddresses();
            NativeInt4.decodeStep(operands, h.data_ptr().address(), b, positions.data_ptr().address(), buffers.data_ptr().address(),
                    cache.columnCapacity(), cache.maskAddress(), cache.length(), cache.writeColumnsAddress());
            return h.to(dtype).view(b, 1, hidden);
        }));
    }
}
