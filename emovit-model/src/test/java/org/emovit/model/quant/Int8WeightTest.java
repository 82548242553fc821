package org.emovit.model.quant;

import org.emovit.model.*;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/** Symmetric per-output-channel int8: the round trip is within half a step per element, and Ops.linear runs it. */
class Int8WeightTest {
    private static final Device CPU = new Device("cpu");

    @Test
    void roundTripIsWithinHalfAStepPerChannel() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(5);
            Tensor w = torch.randn(new long[] {64, 256}, Tensors.options(ScalarType.Float, CPU)).mul_(new Scalar(0.02));
            w.select(0, 3).mul_(new Scalar(50));   // one channel far wider than the others: its own scale
            w.select(0, 7).zero_();                // an all-zero channel: scale 1, values 0, no NaN
            Int8Weight q = Int8Weight.quantize(w);

            assertThat(q.values().scalar_type().intern()).isEqualTo(ScalarType.Char);
            assertThat(q.scales().scalar_type().intern()).isEqualTo(ScalarType.Float);
            assertThat(q.values().abs().max().item_long()).isEqualTo(127);
            Tensor expectedScales = w.abs().amax(new long[] {1}, false).div(new Scalar(127.0));
            assertThat(q.scales().select(0, 0).item_double()).isCloseTo(expectedScales.select(0, 0).item_double(), org.assertj.core.data.Offset.offset(1e-9));
            assertThat(q.scales().select(0, 7).item_double()).isEqualTo(1.0);

            Tensor err = q.dequantize(ScalarType.Float).sub(w).abs();
            Tensor halfStep = q.scales().unsqueeze(1).mul(new Scalar(0.5 + 1e-6));
            assertThat(err.le(halfStep).all().item_bool()).isTrue();
            double rel = err.square().sum().sqrt().item_double() / w.square().sum().sqrt().item_double();
            assertThat(rel).isLessThan(0.01);   // Gaussian rows: about 0.4 % in Frobenius norm
        }
    }

    @Test
    void opsLinearRunsAnInt8WeightAsTheDequantisedOne() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(9);
            Tensor w = torch.randn(new long[] {40, 32}, Tensors.options(ScalarType.Float, CPU));
            Tensor bias = torch.randn(new long[] {40}, Tensors.options(ScalarType.Float, CPU));
            Int8Weight q = Int8Weight.quantize(w);
            Tensor dense = q.dequantize(ScalarType.Float);
            Tensor x = torch.randn(new long[] {2, 6, 32}, Tensors.options(ScalarType.Float, CPU));
            Tensor last = x.narrow(1, 5, 1);   // the LM head's strided [B, 1, D] cut
            for (Tensor in : new Tensor[] {x, last}) {
                Tensor got = Ops.linear(in, LinearWeight.of(q), bias);
                Tensor ref = Ops.linear(in, dense, bias);
                assertThat(Tensors.shape(got)).isEqualTo(Tensors.shape(ref));
                // float32 activations pass the kernel in bf16: within bf16's rounding of the exact product
                assertThat(got.sub(ref).abs().max().item_double() / ref.abs().max().item_double()).isLessThan(0.02);
            }
            assertThat(Ops.linear(x, LinearWeight.of(w), null).equal(Ops.linear(x, w, null))).isTrue();
        }
    }

    /**
     * The GEMM path through a model's shared buffer equals the product with the dequantised weight, whole and block
     * by block (a cap of 3 rows' worth: the LM head's case), and a second weight through the same buffer does not
     * disturb the first's result.
     */
    @Test
    void theSharedBufferGivesTheDequantisedProductWholeAndInBlocks() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard();
             Int8Workspace whole = new Int8Workspace(); Int8Workspace blocks = new Int8Workspace(3 * 40)) {
            torch.manual_seed(9);
            Tensor w = torch.randn(new long[] {10, 40}, Tensors.options(ScalarType.Float, CPU));
            Tensor other = torch.randn(new long[] {7, 40}, Tensors.options(ScalarType.Float, CPU));
            Tensor x = torch.randn(new long[] {2, Int8Weight.GEMM_ROWS, 40}, Tensors.options(ScalarType.Float, CPU));
            for (Int8Workspace ws : new Int8Workspace[] {whole, blocks}) {
                Int8Weight q = Int8Weight.quantizeInto(w, Int8Weight.emptyValues(10, 40, CPU), Int8Weight.emptyScales(10, CPU), ws);
                Int8Weight q2 = Int8Weight.quantizeInto(other, Int8Weight.emptyValues(7, 40, CPU), Int8Weight.emptyScales(7, CPU), ws);
                Tensor expected = torch.linear(x, q.dequantize(ScalarType.Float));
                Tensor y = q.matmul(x);
                q2.matmul(x);
                assertThat(Tensors.shape(y)).containsExactly(2, Int8Weight.GEMM_ROWS, 10);
                assertThat(y.sub(expected).abs().max().item_double()).isLessThan(1e-4);
            }
        }
    }
}
