package org.emovit.model;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * -Demovit.probe=true: the non-Linear ops of one decoding step of one 7B-wide layer in bf16 (what
 * Int8SevenBWidthTest#profileADecodeStep counts as "the rest"), each timed alone at its real shapes.
 */
class DecodeOpsProbeTest {
    private static final Device CPU = new Device("cpu");

    @Test
    @EnabledIfSystemProperty(named = "emovit.probe", matches = "true")
    void timeTheRestOfADecodeStep() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            var bf16 = Tensors.options(ScalarType.BFloat16, CPU);
            Tensor x = torch.randn(new long[] {1, 1, 4096}, bf16);
            Tensor w = torch.ones(new long[] {4096}, bf16);
            Tensor q = torch.randn(new long[] {1, 32, 1, 128}, bf16);
            Tensor k = torch.randn(new long[] {1, 32, 97, 128}, bf16);
            Tensor v = torch.randn(new long[] {1, 32, 97, 128}, bf16);
            Tensor kOld = torch.randn(new long[] {1, 32, 96, 128}, bf16);
            Tensor cos = torch.randn(new long[] {1, 1, 1, 128}, bf16), sin = torch.randn(new long[] {1, 1, 1, 128}, bf16);
            Tensor bias = torch.zeros(new long[] {1, 1, 1, 97}, bf16);
            time("rmsNorm (bf16: 8 ops)", () -> {
                Tensor xf = x.to(ScalarType.Float);
                Tensor var = xf.square().mean(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
                return xf.mul(var.add_(new Scalar(1e-6)).rsqrt_()).to(ScalarType.BFloat16).mul(w);
            });
            time("rms_norm (fused, f32 in)", () -> torch.rms_norm(x.to(ScalarType.Float), new long[] {4096},
                    new org.bytedeco.pytorch.TensorOptional(w.to(ScalarType.Float)), new org.bytedeco.pytorch.DoubleOptional(1e-6)));
            time("rotary q (roll, 2 mul, add)", () -> q.mul(cos).add(q.roll(new long[] {64}, -1).mul(sin)));
            time("cache append (cat K and V)", () -> { torch.cat(new org.bytedeco.pytorch.TensorVector(kOld, q), 2); return torch.cat(new org.bytedeco.pytorch.TensorVector(kOld, q), 2); });
            time("attention (eager bf16)", () -> Ops.attention(q, k, v, bias, 1 / Math.sqrt(128)));
            time("merge heads", () -> q.transpose(1, 2).contiguous().reshape(1, 1, 4096));
            time("silu * up, 2 residual adds", () -> { Tensor g = torch.silu(x).mul(x); return x.add(g).add(x); });
            time("one tiny op (add)", () -> x.add(x));
        }
    }

    private static void time(String name, java.util.function.Supplier<Tensor> op) {
        for (int i = 0; i < 50; i++) {
            try (PointerScope s = new PointerScope()) {
                op.get();
            }
        }
        int runs = 500;
        long t0 = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            try (PointerScope s = new PointerScope()) {
                op.get();
            }
        }
        System.out.printf("PROBE %-30s %8.1f us%n", name, (System.nanoTime() - t0) / 1e3 / runs);
    }
}
