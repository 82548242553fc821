package org.emovit.model.quant;

import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.OperatorHandleOptional;
import org.bytedeco.pytorch.OperatorName;

/**
 * Whether this libtorch registers an operator, asked of the {@link Dispatcher} without calling it: the quantised
 * products rest on operators that libtorch marks private (a leading underscore) or deprecated (FBGEMM's int8 ones,
 * "will be removed in a future PyTorch release"), and a model whose operator is gone takes a fallback instead of
 * failing at its first product.
 */
public final class NativeOperators {
    private NativeOperators() {}

    /** Whether every one of these operators (no overload name) is registered. */
    public static boolean allRegistered(String... names) {
        for (String name : names) {
            try (OperatorName op = new OperatorName(name, ""); OperatorHandleOptional handle = Dispatcher.singleton().findSchema(op)) {
                if (!handle.has_value()) {
                    return false;
                }
            }
        }
        return true;
    }
}
