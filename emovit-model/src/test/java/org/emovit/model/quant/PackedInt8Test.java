package org.emovit.model.quant;

import org.emovit.model.*;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * The FBGEMM packing: exact integer sums where the CPU has VNNI, two-level activations as accurate as the exact
 * product even beside a 60x outlier feature (where one level of 8 bits per row is not), and the same products as
 * the unpacked weight in every shape a model gives it.
 */
class PackedInt8Test {
    private static final Device CPU = new Device("cpu");

    /**
     * Signed integers are exact where FBGEMM runs its VNNI kernels (AVX2's pairwise int16 sums saturate the check's
     * product); split by sign, wherever FBGEMM runs. FBGEMM_ENABLE_INSTRUCTIONS=AVX2 makes it run its AVX2 kernels here.
     */
    @Test
    void signedWhereFbgemmHasVnniAndSplitWhereverItRuns() {
        assumeTrue(System.getenv("EMOVIT_INT8_KERNEL") == null, "the default choice");
        String forced = System.getenv("FBGEMM_ENABLE_INSTRUCTIONS");
        boolean vnni = CpuInfo.current().flags().contains("avx512_vnni") && (forced == null || forced.startsWith("AVX512_E1"));
        assertThat(PackedInt8.checkExact(PackedInt8.Encoding.SIGNED)).isEqualTo(vnni);
        assertThat(PackedInt8.checkExact(PackedInt8.Encoding.SPLIT)).isTrue();
        // auto: the split only when asked for (it prefills slower than the int8 kernel)
        assertThat(PackedInt8.encoding()).isEqualTo(vnni ? PackedInt8.Encoding.SIGNED : null);
    }

    /**
     * FBGEMM's int8 operators are deprecated: where a later libtorch drops one, no encoding is exact, the model does
     * not pack, and its int8 Linears take aten::_weight_int8pack_mm (as without VNNI).
     */
    @Test
    void aRemovedFbgemmOperatorFallsBackToTheInt8Kernel() {
        assertThat(NativeOperators.allRegistered(PackedInt8.OPERATORS)).isTrue();
        assertThat(PackedInt8.exactEncoding(PackedInt8.OPERATORS[0], "aten::fbgemm_linear_int8_weight_fp32_activation_removed")).isNull();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Int8Weight unpacked = Int8Weight.quantize(torch.randn(64, 64));   // what a model without the packing holds
            assertThat(unpacked.isPacked()).isFalse();
            Tensor x = torch.randn(1, 64);
            Tensor ref = torch.linear(x, unpacked.dequantize(ScalarType.Float));
            assertThat(unpacked.matmul(x).sub(ref).abs().max().item_double() / ref.abs().max().item_double()).isLessThan(0.02);
        }
    }

    @Test
    void twoLevelActivationsKeepOutliersAndTheSmallFeaturesBesideThem() {
        assumeTrue(PackedInt8.checkExact(PackedInt8.Encoding.SPLIT), "FBGEMM does not run on this CPU");
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(17);
            Int8Weight w = Int8Weight.quantize(torch.randn(new long[] {384, 1024}, Tensors.options(ScalarType.Float, CPU)));
            Int8Weight packed = w.packed(w.values());
            assertThat(packed.isPacked()).isTrue();
            for (PackedInt8.Encoding encoding : PackedInt8.Encoding.values()) {
                if (!PackedInt8.checkExact(encoding)) {
                    continue;   // SIGNED without VNNI
                }
                for (long rows : new long[] {1, 3, 40}) {
                    Tensor x = torch.randn(new long[] {rows, 1024}, Tensors.options(ScalarType.Float, CPU));
                    x.narrow(1, 7, 1).mul_(new Scalar(60.0));   // LLaMA-like outlier feature
                    Tensor exact = torch.linear(x, w.dequantize(ScalarType.Float));
                    double twoLevel = relativeError(packedProduct(packed, x, encoding), exact);
                    double bf16 = relativeError(torch.linear(x.to(ScalarType.BFloat16).to(ScalarType.Float), w.dequantize(ScalarType.Float)), exact);
                    double oneLevel = relativeError(oneLevel(x, w), exact);
                    assertThat(twoLevel).as("two levels, %d rows, %s", rows, encoding).isLessThan(1e-3).isLessThan(bf16);
                    assertThat(oneLevel).as("one level would lose the small features").isGreaterThan(0.03);
                    Tensor yb = packedProduct(packed, x.to(ScalarType.BFloat16), encoding);
                    assertThat(yb.scalar_type().intern()).isEqualTo(ScalarType.BFloat16);
                    assertThat(relativeError(yb.to(ScalarType.Float), exact)).isLessThan(0.01);
                }
            }
            Tensor x3 = torch.randn(new long[] {2, 5, 1024}, Tensors.options(ScalarType.Float, CPU));
            Tensor y3 = packedProduct(packed, x3.narrow(1, 4, 1), PackedInt8.Encoding.SPLIT);   // the LM head's strided [B, 1, D] cut
            assertThat(Tensors.shape(y3)).containsExactly(2, 1, 384);
            assertThat(relativeError(y3, torch.linear(x3.narrow(1, 4, 1), w.dequantize(ScalarType.Float)))).isLessThan(1e-3);
        }
    }

    @Test
    void gradientsGoThroughTheValuesAndAPackingAloneRefusesThem() {
        assumeTrue(PackedInt8.available(), "FBGEMM's sums are not exact on this CPU");
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(3);
            Int8Weight w = Int8Weight.quantize(torch.randn(new long[] {16, 32}, Tensors.options(ScalarType.Float, CPU)));
            Int8Weight packed = w.packed(w.values());
            Tensor x = torch.randn(new long[] {2, 32}, Tensors.options(ScalarType.Float, CPU)).requires_grad_(true);
            packed.matmul(x).sum().backward();
            Tensor expected = w.dequantize(ScalarType.Float).sum(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
            assertThat(x.grad().select(0, 0).sub(expected).abs().max().item_double()).isLessThan(1e-4);

            Int8Weight alone = w.packedAlone();
            try (NoGradGuard noGrad = new NoGradGuard()) {
                Tensor y = torch.randn(new long[] {1, 32}, Tensors.options(ScalarType.Float, CPU));
                assertThat(relativeError(alone.matmul(y), torch.linear(y, w.dequantize(ScalarType.Float)))).isLessThan(1e-3);
            }
            Tensor z = torch.randn(new long[] {1, 32}, Tensors.options(ScalarType.Float, CPU)).requires_grad_(true);
            assertThatThrownBy(() -> alone.matmul(z)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("emovit convert --quantize int8");
        }
    }

    /** The packed weight's product in one encoding (the model's uses {@link PackedInt8#encoding()}). */
    private static Tensor packedProduct(Int8Weight packed, Tensor x, PackedInt8.Encoding encoding) {
        return packed.packing().matmul(x, encoding);
    }

    /** What FBGEMM's operator does with float activations as they are: 8 bits per tensor. */
    private static Tensor oneLevel(Tensor x, Int8Weight w) {
        Tensor s = x.abs().amax(new long[] {1}, true).div(new Scalar(127.0));
        Tensor q = torch.round(x.div(s)).mul(s);
        return torch.linear(q, w.dequantize(ScalarType.Float));
    }

    private static double relativeError(Tensor got, Tensor exact) {
        return got.sub(exact).norm().item_double() / exact.norm().item_double();
    }
}
