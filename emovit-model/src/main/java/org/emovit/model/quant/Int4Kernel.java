package org.emovit.model.quant;

import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.Tensor;

/**
 * libtorch's 4-bit weight-only CPU kernel, reached through the {@link org.bytedeco.pytorch.Dispatcher} (the presets generate no Java method
 * for it): {@code aten::_convert_weight_to_int4pack_for_cpu(int32 [N, K] levels, innerKTiles) -> uint8 [N, K/2]} in
 * the kernel's own blocked layout, and {@code aten::_weight_int4pack_mm_for_cpu(x [M, K], packed, group,
 * scaleAndZeros [K/group, N, 2] in x's dtype) -> [M, N]}. With bf16 activations a one-row product at 7B MLP widths
 * took 1.6-1.7 ms against 2.0-2.5 for FBGEMM's packed int8 and 2.8-3.9 for {@code _weight_int8pack_mm}; with float32
 * ones it has no vectorised path (50x slower), so callers hand it bf16. At 96 rows it is 2.5x slower than packed
 * int8 (a matrix-vector design). The operators are private to libtorch (a leading underscore):
 * whether both exist is asked once, and a libtorch without them leaves 4-bit weights on the dequantised fallback.
 */
public final class Int4Kernel {
    private Int4Kernel() {}

    static final String PACK = "aten::_convert_weight_to_int4pack_for_cpu";
    static final String MM = "aten::_weight_int4pack_mm_for_cpu";

    /** Whether this libtorch registers both operators; asked of the Dispatcher once. */
    public static boolean available() {
        return Availability.BOTH;
    }

    private static final class Availability {
        static final boolean BOTH = NativeOperators.allRegistered(PACK, MM);
    }

    /** What CPU 4-bit products run on ({@link Int4KernelChoice}), for a bench's header. */
    public static String describe() {
        return switch (Int4KernelChoice.current().kernelFor(ROW_BLOCK_OF_7B, 4096)) {
            case NATIVE -> NativeInt4.describe();
            case LIBTORCH -> MM + " (group " + Int4Format.GROUP + ", bf16 activations)"
                    + (Int4KernelChoice.current() == Int4KernelChoice.AUTO ? "; no native kernel: " + NativeInt4.unavailableReason() : "");
            case DENSE -> "a dense product on the dequantised weight (" + (available() ? Int4KernelChoice.PROPERTY + "="
                    + Int4KernelChoice.current().setting() : "this libtorch has no " + MM) + ")";
        };
    }

    /** A width every kernel takes, to ask what a model's weights run on. */
    private static final long ROW_BLOCK_OF_7B = 4096;

    /** int32 levels [N, K] in [0, 15] → the kernel's packed uint8 [N, K/2]. */
    static Tensor pack(Tensor levels) {
        return NativeOperators.call(PACK, new IValue(levels), new IValue(1L));
    }

    /** x [M, K] (bf16) @ the packed weight → [M, N] in x's dtype. */
    static Tensor mm(Tensor x, Tensor packed, long group, Tensor scaleAndZeros) {
        return NativeOperators.call(MM, new IValue(x), new IValue(packed), new IValue(group), new IValue(scaleAndZeros));
    }
}
