package org.emovit.model;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** The decoders' attention bias: causal over absolute positions, padded keys masked, the KV cache's keys included. */
final class CausalMask {
    private CausalMask() {}

    /**
     * Appends the new positions' 0/1 key mask to the cache's (when there is a cache) and returns the additive bias
     * [B, 1, T, past+T]: 0 where a new position may attend, the dtype's lowest value elsewhere. {@code visible}
     * ([T, T] bool, or null for causal) replaces causality among the new positions; the past stays visible.
     */
    static Tensor bias(Tensor keyMask, AttentionCache cache, long t, ScalarType dtype, Device device, Tensor visible) {
        long past = cache == null ? 0 : cache.length();
        Tensor full = keyMask.to(device, ScalarType.Long);
        if (cache != null) {
            full = cache.appendKeyMask(full);
        }
        if (t == 1 && visible == null) {
            return Ops.keyMaskBias(full, dtype);   // one new position (a decoding step) sees every unpadded key: fewer ops
        }
        long s = full.size(1);
        Tensor causal = visible == null
                ? torch.tril(torch.ones(new long[] {t, s}, Tensors.options(ScalarType.Bool, device)), past)
                : Ops.cat(1, torch.ones(new long[] {t, past}, Tensors.options(ScalarType.Bool, device)), visible.to(device, ScalarType.Bool));
        Tensor allowed = causal.unsqueeze(0).logical_and(full.to(ScalarType.Bool).unsqueeze(1)).unsqueeze(1);
        Tensor zeros = torch.zeros(new long[] {full.size(0), 1, t, s}, Tensors.options(dtype, device));
        return zeros.masked_fill(allowed.logical_not(), new Scalar(Tensors.lowest(dtype)));
    }
}
