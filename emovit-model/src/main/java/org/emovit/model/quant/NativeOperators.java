package org.emovit.model.quant;

import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.OperatorHandleOptional;
import org.bytedeco.pytorch.OperatorName;
import org.bytedeco.pytorch.Tensor;

/**
 * Whether this libtorch registers an operator, asked of the {@link Dispatcher} without calling it: the quantised
 * products rest on operators that libtorch marks private (a leading underscore) or deprecated (FBGEMM's int8 ones,
 * "will be removed in a future PyTorch release"), and a model whose operator is gone takes a fallback instead of
 * failing at its first product. Such operators have no generated Java method, so they are called boxed here too.
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

    /** Calls a registered operator (no overload name) with these arguments, which it closes, and returns its one result. */
    static Tensor call(String name, IValue... args) {
        // The handle is looked up per call (a hash lookup): a cached native object made under some PointerScope
        // would be freed with that scope.
        try (OperatorHandle op = Dispatcher.singleton().findSchemaOrThrow(name, ""); IValueVector stack = new IValueVector(args)) {
            op.callBoxed(stack);
            // toTensor() is a reference into the stack's IValue: a new Tensor holds its own reference to the result.
            return new Tensor(stack.get(0).toTensor());
        } finally {
            for (IValue a : args) {
                a.close();
            }
        }
    }
}
