package org.emovit.model;

import org.emovit.model.quant.Int8Weight;
import org.bytedeco.pytorch.Tensor;
import org.emovit.model.quant.Int4Weight;

/**
 * The weight of one Linear layer as the model holds it: a dense tensor [N, K] in the compute dtype, an int8 weight
 * with per-output-channel scales, or a 4-bit one with group-wise scales. {@link Ops#linear(Tensor,
 * LinearWeight, Tensor)} runs any of them.
 */
public record LinearWeight(Tensor dense, Int8Weight int8, Int4Weight int4) {
    public LinearWeight {
        int kinds = (dense != null ? 1 : 0) + (int8 != null ? 1 : 0) + (int4 != null ? 1 : 0);
        if (kinds != 1) {
            throw new IllegalArgumentException("a Linear weight is dense, int8 or int4, one of the three");
        }
    }

    public static LinearWeight of(Tensor dense) {
        return new LinearWeight(dense, null, null);
    }

    public static LinearWeight of(Int8Weight int8) {
        return new LinearWeight(null, int8, null);
    }

    public static LinearWeight of(Int4Weight int4) {
        return new LinearWeight(null, null, int4);
    }

    public boolean quantized() {
        return dense == null;
    }

    /** x [..., K] @ W^T for a quantised weight. */
    Tensor quantizedMatmul(Tensor x) {
        return int8 != null ? int8.matmul(x) : int4.matmul(x);
    }
}
