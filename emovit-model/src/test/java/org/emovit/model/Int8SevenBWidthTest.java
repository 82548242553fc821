package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * At the 7B LLM's widths (hidden 4096, 32 heads of 128, intermediate 11008) with 4 layers of random weights and
 * the embedded tokenizer's 514-token vocabulary, int8 Linears keep the last position's logits at cosine
 * similarity ≥ 0.999 to float32. One forward over a short prompt per model (about 3 GB of f32 weights).
 */
class Int8SevenBWidthTest {
    private static final Device CPU = new Device("cpu");
    private static final LlamaConfig WIDE = new LlamaConfig(4096, 11008, 4, 32, 32, 128, 514, 1e-6, 10000.0, 2048,
            false, 1, 2, 0);
    private static final long[] IDS = {1, 17, 230, 5, 401, 99, 12, 77};

    @Test
    void lastPositionLogitsKeepCosineSimilarityAbove0999() {
        float[] f32 = lastLogits(false);
        float[] int8 = lastLogits(true);
        double dot = 0, a = 0, b = 0;
        for (int i = 0; i < f32.length; i++) {
            dot += (double) f32[i] * int8[i];
            a += (double) f32[i] * f32[i];
            b += (double) int8[i] * int8[i];
        }
        double cosine = dot / Math.sqrt(a * b);
        System.out.printf("7B widths, 4 layers: int8 vs f32 last-position logits cosine %.6f%n", cosine);
        assertThat(f32).hasSize(514);
        assertThat(cosine).isGreaterThanOrEqualTo(0.999).isLessThan(1.0);
    }

    /** -Demovit.probe=true: one-token forwards (a decode step's matrix work, 4 layers) in bf16, dense against int8. */
    @Test
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "emovit.probe", matches = "true")
    void timeAOneTokenStepDenseAgainstInt8() {
        for (boolean quantize : new boolean[] {false, true}) {
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                StateDict w = StateDict.random(ScalarType.BFloat16, CPU, 42);
                if (quantize) {
                    w.quantizeLinears(key -> true);
                }
                LlamaDecoder llm = new LlamaDecoder(WIDE, w);
                Tensor ids = Tensors.fromLongs(new long[] {17}, 1, 1);
                Tensor mask = org.bytedeco.pytorch.global.torch.ones_like(ids);
                Tensor positions = Ops.positionsFromMask(mask);
                Tensor embeds = llm.embed(ids);
                long[] ms = new long[7];
                for (int i = 0; i < ms.length; i++) {
                    long t0 = System.nanoTime();
                    try (PointerScope step = new PointerScope()) {
                        llm.forward(embeds, mask, positions, null);
                    }
                    ms[i] = (System.nanoTime() - t0) / 1_000_000;
                }
                long[] sorted = ms.clone();
                java.util.Arrays.sort(sorted);
                double weightGb = 4 * (4.0 * 4096 * 4096 + 3.0 * 4096 * 11008) * (quantize ? 1 : 2) / 1e9;
                System.out.printf("PROBE 7B widths, 4 layers, one-token forward, %s: median %d ms (runs %s), %.2f GB of weights, %.1f GB/s%n",
                        quantize ? "int8 (bf16 activations)" : "bf16 dense", sorted[ms.length / 2], java.util.Arrays.toString(ms),
                        weightGb, weightGb / (sorted[ms.length / 2] / 1e3));
            }
        }
    }

    private static float[] lastLogits(boolean quantize) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            StateDict w = StateDict.random(ScalarType.Float, CPU, 42);
            if (quantize) {
                w.quantizeLinears(key -> true);
            }
            LlamaDecoder llm = new LlamaDecoder(WIDE, w);
            Tensor ids = Tensors.fromLongs(IDS, 1, IDS.length);
            Tensor mask = org.bytedeco.pytorch.global.torch.ones_like(ids);
            Tensor positions = Ops.positionsFromMask(mask);
            Tensor hidden = llm.forward(llm.embed(ids), mask, positions, null);
            Tensor last = hidden.narrow(1, IDS.length - 1, 1);
            return Tensors.toFloats(llm.logits(last).contiguous());
        }
    }
}
