package org.emovit.model.quant;

import org.emovit.model.*;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.quant.Int8PackMmOperands;
import org.junit.jupiter.api.Test;

/**
 * Every int8 product (libtorch's int8 kernel, the GEMM on the converted weight, FBGEMM's packing) against the
 * dequantised weight's product at many shapes: widths the kernel takes and widths it cannot (odd, not a multiple of
 * 16), one row and several, batches of 1 to 4, a weight and activations that start off the kernel's alignment (a
 * mapped file at an 8-byte offset, a view of the last position). Before the width and alignment checks, K = 40 or a
 * weight at an 8-byte offset killed the JVM in {@code int8pack_mm_kernel_<BFloat16>}.
 */
class Int8ShapesTest {
    private static final Device CPU = new Device("cpu");
    private static final long[] WIDTHS = {1, 7, 16, 40, 136};
    private static final long[] OUTPUTS = {1, 5, 17};
    /** Tokens per batch item: one (a decode step), a few (the tiny ViT's 5), and enough for the GEMM path. */
    private static final long[] TOKENS = {1, 5, 9};

    @Test
    void everyProductIsTheDequantisedOneAtEveryShape() {
        int products = 0;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(24);
            for (long k : WIDTHS) {
                for (long n : OUTPUTS) {
                    Int8Weight plain = Int8Weight.quantize(randn(n, k));
                    Int8Weight offset = new Int8Weight(unaligned(plain.values()), plain.scales());
                    Int8Weight viaWorkspace = new Int8Weight(plain.values(), plain.scales(), new Int8Workspace());
                    Int8Weight packed = PackedInt8.available() && PackedInt8.fits(k) ? plain.packed(plain.values()) : plain;
                    for (long batch = 1; batch <= 4; batch++) {
                        for (long tokens : TOKENS) {
                            Tensor x = randn(batch, tokens, k), xb = x.to(ScalarType.BFloat16);
                            // views as the LM head's cut of the last position: strided, or dense at an odd offset
                            Tensor last = x.narrow(1, tokens - 1, 1), lastBf16 = xb.narrow(1, tokens - 1, 1);
                            for (Tensor in : new Tensor[] {x, xb, last, lastBf16, unaligned(xb)}) {
                                for (Int8Weight w : new Int8Weight[] {plain, offset, viaWorkspace, packed}) {
                                    assertClose(w.matmul(in), in, plain, "K=" + k + " N=" + n + " x" + java.util.Arrays.toString(Tensors.shape(in)));
                                    products++;
                                }
                            }
                        }
                    }
                }
            }
        }
        assertThat(products).isEqualTo(WIDTHS.length * OUTPUTS.length * 4 * TOKENS.length * 5 * 4);
    }

    @Test
    void theKernelRefusesOperandsItWouldMisreadInsteadOfCrashing() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Int8Weight w = Int8Weight.quantize(randn(8, 32));
            Tensor s = w.scales().to(ScalarType.BFloat16);
            Tensor x = randn(2, 32).to(ScalarType.BFloat16);
            assertThat(Int8PackMm.mm(x, w.values(), s).size(1)).isEqualTo(8);
            assertThatThrownBy(() -> Int8PackMm.mm(x, unaligned(w.values()), s))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aligned to 32 and 16 bytes");
            assertThatThrownBy(() -> Int8PackMm.mm(unaligned(x), w.values(), s))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aligned");
            Int8Weight odd = Int8Weight.quantize(randn(8, 40));
            assertThatThrownBy(() -> Int8PackMm.mm(randn(2, 40).to(ScalarType.BFloat16), odd.values(), s))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 16");
            assertThatThrownBy(() -> odd.matmulInOwnDtype(randn(1, 40).to(ScalarType.BFloat16)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot take");
            assertThatThrownBy(() -> Int8PackMm.mm(x, w.values(), w.scales()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dtype");
        }
    }

    /**
     * Within the rounding of bf16 activations and a bf16 result (relative 2^-8 each, on the sum of the products'
     * magnitudes), which also covers the packing's two levels (max|x| / 64516 per element).
     */
    private static void assertClose(Tensor got, Tensor x, Int8Weight w, String what) {
        Tensor xf = x.to(ScalarType.Float);
        Tensor dense = w.dequantize(ScalarType.Float);
        Tensor exact = torch.linear(xf, dense);
        Tensor bound = torch.linear(xf.abs(), dense.abs()).mul(new org.bytedeco.pytorch.Scalar(1.0 / 64)).add(new org.bytedeco.pytorch.Scalar(1e-6));
        assertThat(Tensors.shape(got)).as(what).isEqualTo(Tensors.shape(exact));
        assertThat(got.scalar_type().intern()).as(what).isEqualTo(x.scalar_type().intern());
        Tensor err = got.to(ScalarType.Float).sub(exact).abs();
        assertThat(err.le(bound).all().item_bool()).as(what + ": max error " + err.max().item_double()).isTrue();
    }

    /** A copy of {@code t} whose first element lies 8 bytes past a 64-byte boundary: off the kernel's alignment. */
    static Tensor unaligned(Tensor t) {
        long bytes = t.element_size(), shift = 8 / bytes;
        Tensor flat = torch.empty(new long[] {t.numel() + shift}, Tensors.options(t.scalar_type(), CPU), new org.bytedeco.pytorch.MemoryFormatOptional());
        Tensor view = flat.narrow(0, shift, t.numel()).view(Tensors.shape(t));
        view.copy_(t);
        assertThat(Int8PackMmOperands.aligned(view)).isFalse();
        return view;
    }

    private static Tensor randn(long... shape) {
        return torch.randn(shape, Tensors.options(ScalarType.Float, CPU));
    }
}
