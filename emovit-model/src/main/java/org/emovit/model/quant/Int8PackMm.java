package org.emovit.model.quant;

import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.Tensor;

/**
 * libtorch's int8 weight-only CPU kernel, {@code aten::_weight_int8pack_mm(x [M, K], w int8 [N, K], scales [N] in x's
 * dtype) -> [M, N]}: the kernel PyTorch's own int8 weight-only inference uses, reached through the
 * {@link org.bytedeco.pytorch.Dispatcher} because the presets generate no Java method for it. It reads each weight
 * byte once per call, which suits a decode step's matrix-vector product.
 */
public final class Int8PackMm {
    private Int8PackMm() {}

    /** The operator's schema name, as registered by libtorch. */
    static final String OP = "aten::_weight_int8pack_mm";

    /**
     * The product, boxed. On the CPU, operands the kernel would fault on or misread are refused with an
     * {@link IllegalArgumentException} first (see {@link Int8PackMmOperands}).
     */
    public static Tensor mm(Tensor x, Tensor w, Tensor scales) {
        String refusal = x.is_cpu() ? Int8PackMmOperands.refusal(x, w, scales) : null;
        if (refusal != null) {
            throw new IllegalArgumentException(OP + " " + refusal);
        }
        return NativeOperators.call(OP, new IValue(x), new IValue(w), new IValue(scales));
    }
}
