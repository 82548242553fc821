package org.emovit.model.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.ModelLoadException;
import org.emovit.model.Tensors;
import org.junit.jupiter.api.Test;

/** The 4-bit format's rounding, the kernel against the dequantised weight, block packing, and the fallback. */
class Int4WeightTest {
    private static final Device CPU = new Device("cpu");

    private static Tensor randn(long... shape) {
        return torch.randn(shape, Tensors.options(ScalarType.Float, CPU));
    }

    private static double relErr(Tensor a, Tensor ref) {
        return a.to(ScalarType.Float).sub(ref).norm().item_double() / ref.norm().item_double();
    }

    @Test
    void eachWeightTakesTheNearestLevelAndTheFitBeatsMinMax() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(5);
            Tensor w = randn(128, 96);
            Int4Weight q = Int4Weight.of(w, Int4Format.Scheme.AFFINE);
            assertThat(Tensors.shape(q.values())).containsExactly(128, 48);
            assertThat(Tensors.shape(q.params())).containsExactly(3, 128, 2);
            assertThat(q.params().scalar_type().intern()).isEqualTo(Int4Format.PARAMS_TYPE);

            // inside a group's 16 levels every weight is within half a step of its level; outside, it takes the end one
            Tensor step = perColumn(q.params().select(2, 0)), zero = perColumn(q.params().select(2, 1));
            Tensor lowest = zero.sub(step.mul(new Scalar(8.0))), highest = zero.add(step.mul(new Scalar(7.0)));
            Tensor expected = torch.minimum(torch.maximum(w, lowest), highest);
            Tensor err = q.dequantize(ScalarType.Float).sub(expected).abs().div(step);
            assertThat(err.max().item_double()).isLessThanOrEqualTo(0.5 + 1e-4);

            // the least-squares fit: no group worse than min/max's, and clearly less error over the weight
            Tensor fitted = groupErrors(q.dequantize(ScalarType.Float), w), minMax = groupErrors(minMaxDequantised(w), w);
            assertThat(fitted.sub(minMax).max().item_double()).as("a group's squared error beyond min/max's").isLessThanOrEqualTo(1e-9);
            assertThat(fitted.sum().item_double() / minMax.sum().item_double()).as("squared error against min/max's").isLessThan(0.9);
        }
    }

    /**
     * The symmetric scheme (what convert writes): scales only, either sign; every weight within half a step of its level
     * inside the group's 16 levels, and the least-squares fit ahead of llama.cpp's Q4_0 rounding of the same groups.
     */
    @Test
    void symmetricGroupsTakeTheNearestLevelAndTheFitBeatsQ4_0() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(15);
            Tensor w = randn(128, 96);
            Int4Weight q = Int4Weight.of(w);
            assertThat(q.scheme()).isEqualTo(Int4Format.Scheme.SYMMETRIC);
            assertThat(Tensors.shape(q.params())).containsExactly(3, 128);
            Tensor step = perColumn(q.params());
            Tensor a = step.mul(new Scalar(-8.0)), b = step.mul(new Scalar(7.0));
            Tensor expected = torch.minimum(torch.maximum(w, torch.minimum(a, b)), torch.maximum(a, b));
            Tensor err = q.dequantize(ScalarType.Float).sub(expected).abs().div(step.abs());
            assertThat(err.max().item_double()).isLessThanOrEqualTo(0.5 + 1e-4);

            Tensor fitted = groupErrors(q.dequantize(ScalarType.Float), w), q40 = groupErrors(q40Dequantised(w), w);
            assertThat(fitted.sub(q40).max().item_double()).as("a group's squared error beyond Q4_0's").isLessThanOrEqualTo(1e-6);
            assertThat(fitted.sum().item_double() / q40.sum().item_double()).as("squared error against Q4_0's").isLessThan(0.95);
        }
    }

    /** llama.cpp's Q4_0 rounding (d = the value of largest magnitude / -8, q = min(15, floor(x / d + 8.5))), dequantised. */
    private static Tensor q40Dequantised(Tensor w) {
        Tensor x = w.view(w.size(0), -1, Int4Format.GROUP);
        Tensor m = x.gather(2, x.abs().argmax(new org.bytedeco.pytorch.LongOptional(2), true));
        Tensor d = m.div(new Scalar(-8.0)).to(ScalarType.BFloat16).to(ScalarType.Float);
        Tensor q = torch.floor(x.div(d).add(new Scalar(8.5)))
                .clamp(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0)), new org.bytedeco.pytorch.ScalarOptional(new Scalar(15)));
        return q.sub(new Scalar(8.0)).mul(d).view(w.size(0), w.size(1));
    }

    /** Both schemes load from a checkpoint's keys (affine: the files earlier versions wrote) and multiply as dequantised. */
    @Test
    void bothSchemesLoadByTheirKeysAndMultiplyAsDequantised() {
        for (Int4Format.Scheme scheme : Int4Format.Scheme.values()) {
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                torch.manual_seed(16);
                Int4Weight.Stored s = Int4Weight.quantize(randn(96, 128), scheme);
                org.emovit.model.StateDict dict = new org.emovit.model.StateDict(ScalarType.Float, CPU);
                dict.put("m.weight", new org.emovit.model.StateDict.Entry(Tensors.shape(s.values()), "f", s::values));
                dict.put(scheme.params.of("m.weight"), new org.emovit.model.StateDict.Entry(Tensors.shape(s.params()), "f", s::params));
                Int4Weight loaded = dict.takeLinear("m.weight", 96, 128).int4();
                assertThat(loaded.scheme()).as(scheme.name()).isEqualTo(scheme);
                assertThat(loaded.usesKernel()).as(scheme.name()).isEqualTo(Int4Kernel.available() || NativeInt4.available());
                Tensor x = randn(5, 128);
                Tensor ref = torch.linear(x, Int4Weight.withoutKernel(s).dequantize(ScalarType.Float));
                assertThat(relErr(loaded.matmul(x), ref)).as(scheme.name()).isLessThan(0.01);
            }
        }
    }

    /** A [groups, N] parameter repeated over each group's columns: [N, K]. */
    private static Tensor perColumn(Tensor p) {
        return p.t().to(ScalarType.Float).repeat_interleave(Int4Format.GROUP, new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional());
    }

    /** The squared error of each group of 32 columns [N, K/32]. */
    private static Tensor groupErrors(Tensor approx, Tensor w) {
        Tensor d = approx.sub(w).view(w.size(0), -1, Int4Format.GROUP);
        return d.mul(d).sum(new long[] {2}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
    }

    /** The min/max groups alone (scale = range / 15, zero = min + 8 scale, both bf16), dequantised. */
    private static Tensor minMaxDequantised(Tensor w) {
        Tensor x = w.view(w.size(0), -1, Int4Format.GROUP);
        Tensor min = x.amin(new long[] {2}, true), range = x.amax(new long[] {2}, true).sub(min);
        Tensor scale = range.div(new Scalar(15.0)).to(ScalarType.BFloat16).to(ScalarType.Float);
        Tensor zero = min.add(scale.mul(new Scalar(8.0))).to(ScalarType.BFloat16).to(ScalarType.Float);
        Tensor q = torch.round(x.sub(zero).div(scale).add(new Scalar(8.0)))
                .clamp(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0)), new org.bytedeco.pytorch.ScalarOptional(new Scalar(15)));
        return q.sub(new Scalar(8.0)).mul(scale).add(zero).view(w.size(0), w.size(1));
    }

    @Test
    void kernelProductIsTheLinearOnTheDequantisedWeight() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Int4Kernel.available(), "no 4-bit kernel in this libtorch");
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(6);
            Tensor w = randn(192, 128);
            Int4Weight q = Int4Weight.of(w);
            assertThat(q.usesKernel()).isTrue();
            Tensor dense = q.dequantize(ScalarType.Float);
            for (long m : new long[] {1, 5, 40}) {
                Tensor x = randn(m, 128);
                Tensor ref = torch.linear(x, dense);
                Tensor y = q.matmul(x);
                assertThat(y.scalar_type().intern()).isEqualTo(ScalarType.Float);
                assertThat(relErr(y, ref)).isLessThan(0.01);   // bf16 activations
                assertThat(relErr(q.matmul(x.to(ScalarType.BFloat16)), ref)).isLessThan(0.01);
            }
            Tensor x3 = randn(2, 3, 128);
            assertThat(Tensors.shape(q.matmul(x3))).containsExactly(2, 3, 192);
        }
    }

    @Test
    void rowBlocksPackAsTheWholeWeight() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Int4Kernel.available(), "no 4-bit kernel in this libtorch");
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(7);
            Int4Weight.Stored s = Int4Weight.quantize(randn(1088, 64));   // more rows than one packing block
            Tensor whole = Int4Kernel.pack(Int4Weight.levels(s.values(), 0, 1088));
            assertThat(whole.equal(Int4Weight.pack(s.values(), 1088, 64))).isTrue();
        }
    }

    @Test
    void withoutTheKernelTheDequantisedFallbackGivesTheSameProduct() {
        assertThat(NativeOperators.allRegistered(Int4Kernel.MM, "aten::_weight_int4pack_mm_for_cpu_removed")).isFalse();
        assertThat(NativeOperators.allRegistered(Int4Kernel.MM, Int4Kernel.PACK)).isEqualTo(Int4Kernel.available());
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(8);
            Int4Weight.Stored s = Int4Weight.quantize(randn(64, 64));
            Int4Weight fallback = Int4Weight.withoutKernel(s);
            assertThat(fallback.usesKernel()).isFalse();
            Tensor x = randn(3, 64);
            Tensor ref = torch.linear(x, fallback.dequantize(ScalarType.Float));
            assertThat(relErr(fallback.matmul(x), ref)).isLessThan(1e-6);
        }
    }

    @Test
    void badScalesOrZerosAreRefusedNamingKeyAndFile() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Int4Weight.Stored symmetric = Int4Weight.quantize(randn(64, 64));
            Tensor scales = symmetric.params().clone();
            scales.select(0, 1).select(0, 3).fill_(new org.bytedeco.pytorch.Scalar(0.0));
            assertThatThrownBy(() -> Int4Weight.load(symmetric.values(), scales, symmetric.values(), "m.weight", "/x/model.safetensors"))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage("int4 scale in 'm.weight_group_scales' from /x/model.safetensors is 0.0 at row 3, group 1: every scale must be finite and non-zero");

            Int4Weight.Stored s = Int4Weight.quantize(randn(64, 64), Int4Format.Scheme.AFFINE);
            Tensor params = s.params().clone();
            params.select(0, 1).select(0, 3).select(0, 0).fill_(new org.bytedeco.pytorch.Scalar(Float.NaN));
            assertThatThrownBy(() -> Int4Weight.load(s.values(), params, s.values(), "m.weight", "/x/model.safetensors"))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage("int4 scale in 'm.weight_scale_zero' from /x/model.safetensors is NaN at row 3, group 1: every scale must be finite and positive");
            Tensor zeros = s.params().clone();
            zeros.select(0, 0).select(0, 0).select(0, 1).fill_(new org.bytedeco.pytorch.Scalar(Double.POSITIVE_INFINITY));
            assertThatThrownBy(() -> Int4Weight.load(s.values(), zeros, s.values(), "m.weight", "f"))
                    .hasMessageContaining("int4 zero in 'm.weight_scale_zero' from f is Infinity at row 0, group 0");
        }
    }
}
