package org.emovit.model;

import org.bytedeco.pytorch.Tensor;

/**
 * The weight of one Linear layer as the model holds it: a dense tensor [N, K] in the compute dtype, or an int8
 * weight with per-output-channel scales. {@link Ops#linear(Tensor, LinearWeight, Tensor)} runs either.
 */
public record LinearWeight(Tensor dense, Int8Weight int8) {
    public LinearWeight {
        if ((dense == null) == (int8 == null)) {
            throw new IllegalArgumentException("a Linear weight is dense or int8, one of the two");
        }
    }

    public static LinearWeight of(Tensor dense) {
        return new LinearWeight(dense, null);
    }

    public static LinearWeight of(Int8Weight int8) {
        return new LinearWeight(null, int8);
    }

    public boolean quantized() {
        return int8 != null;
    }
}
