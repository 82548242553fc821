package org.emovit.model;

import org.emovit.model.quant.PackedInt8;
import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * At the 7B LLM's widths (hidden 4096, 32 heads of 128, intermediate 11008) with 4 layers of random weights and
 * the embedded tokenizer's 514-token vocabulary, int8 Linears keep every logit within a stated bound of float32's,
 * the greedy token wherever float32's top-two margin exceeds twice that bound, and the last position's logits at
 * cosine similarity ≥ 0.999; for a short prompt (the int8 kernel) and a long one (the dense GEMM path).
 */
class Int8SevenBWidthTest {
    static final Device CPU = new Device("cpu");
    private static final LlamaConfig WIDE = new LlamaConfig(4096, 11008, 4, 32, 32, 128, 514, 1e-6, 10000.0, 2048,
            false, 1, 2, 0);
    static final long[] IDS = {1, 17, 230, 5, 401, 99, 12, 77};
    /** >= Int8Weight.GEMM_ROWS rows: the dense GEMM path. */
    static final long[] LONG_PROMPT = new long[24];

    static {
        for (int i = 0; i < LONG_PROMPT.length; i++) {
            LONG_PROMPT[i] = 3 + (i * 37L) % 500;
        }
    }

    /** The f32 model's logits for {@link #IDS} and {@link #LONG_PROMPT}, made once per test JVM (a 4-layer build is 20 s here). */
    private static float[][][] f32;

    static synchronized float[][][] f32Logits() {
        if (f32 == null) {
            f32 = logits(w -> { }, IDS, LONG_PROMPT);
        }
        return f32;
    }

    /**
     * Bound on |int8 logit - f32 logit| at any position, as a fraction of the f32 logits' standard deviation. A
     * weight's int8 rounding error is uniform in ±scale/2 with scale = max|w_row|/127, about 4.5σ/127 for these
     * normal weights: an RMS error of 1% of the weight's σ per product term, and the activations' bf16 rounding adds
     * 0.3%. Summed over thousands of terms the errors stay that small relative to the sums, and compound over 4
     * layers to logit errors of a few percent of the logits' spread RMS; the largest of ~16,000 logits sits some 4
     * RMS out: measured 0.10-0.12 std (0.128 and 0.157 at std 1.27). 0.2 std is that with a margin for other seeds
     * and BLAS summation orders; twice it (the margin that decides a greedy token) still decides most positions.
     */
    private static final double LOGIT_ERROR_BOUND_STD = 0.2;

    @Test
    void int8LogitsStayWithinTheBoundAndKeepTheGreedyTokenWhereTheMarginExceedsIt() {
        long[] longPrompt = LONG_PROMPT;
        float[][][] f32 = f32Logits();
        float[][][] kernel = logits(w -> w.linears().toInt8(key -> true), IDS, longPrompt);
        // The packed LLM (FBGEMM, exact two-level int8 activations) where this CPU's int8 sums are exact.
        float[][][] packed = PackedInt8.available() ? logits(w -> {
            w.linears().toInt8(key -> true);
            w.linears().pack(false);
        }, IDS, longPrompt) : null;
        org.assertj.core.api.SoftAssertions soft = new org.assertj.core.api.SoftAssertions();
        checkAgainstF32(f32, kernel, "int8 kernel / GEMM path", LOGIT_ERROR_BOUND_STD, 0.999, soft);
        if (packed != null) {
            checkAgainstF32(f32, packed, "FBGEMM packed", LOGIT_ERROR_BOUND_STD, 0.999, soft);
        }
        soft.assertAll();
    }

    /**
     * Every logit of both prompts within {@code boundStd} standard deviations of f32's, the greedy token kept wherever
     * f32's top-two margin exceeds twice that, and the last position's cosine at least {@code minCosine}.
     */
    static void checkAgainstF32(float[][][] f32, float[][][] int8, String path, double boundStd, double minCosine,
                                org.assertj.core.api.SoftAssertions soft) {
        int decided = 0;
        double[] bound = {boundStd * std(f32[0]), boundStd * std(f32[1])};
        for (int p = 0; p < 2; p++) {
            double maxDiff = 0, dot = 0, a = 0, b = 0;
            for (int t = 0; t < f32[p].length; t++) {
                float[] x = f32[p][t], y = int8[p][t];
                for (int i = 0; i < x.length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
                }
                int top = argmax(x);
                float second = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < x.length; i++) {
                    if (i != top) {
                        second = Math.max(second, x[i]);
                    }
                }
                if (x[top] - second > 2 * bound[p]) {   // no error within the bound can swap the top two
                    soft.assertThat(argmax(y)).as("greedy token at position %d of prompt %d", t, p).isEqualTo(top);
                    decided++;
                }
            }
            float[] x = f32[p][f32[p].length - 1], y = int8[p][f32[p].length - 1];
            for (int i = 0; i < x.length; i++) {
                dot += (double) x[i] * y[i];
                a += (double) x[i] * x[i];
                b += (double) y[i] * y[i];
            }
            double cosine = dot / Math.sqrt(a * b);
            System.out.printf("7B widths, 4 layers, %d-token prompt (%s): vs f32 logits max |diff| %.5f (bound %.4f), "
                            + "last position cosine %.6f; %d positions decided so far%n",
                    f32[p].length, path, maxDiff,
                    bound[p], cosine, decided);
            soft.assertThat(x).hasSize(514);
            soft.assertThat(maxDiff).isLessThanOrEqualTo(bound[p]).isGreaterThan(0);
            soft.assertThat(cosine).isGreaterThanOrEqualTo(minCosine).isLessThan(1.0);
        }
        soft.assertThat(decided).as("positions whose greedy token the bound decides").isGreaterThanOrEqualTo(minDecided(boundStd));
    }

    /**
     * The ViT's int8 Linears at EVA ViT-g's widths (4 of its blocks, random N(0, 0.02) weights, a random image,
     * float32 activations: the GEMM path, as 257 tokens always take): every token's output stays at cosine ≥ 0.999
     * to the dense model's. The per-product error is the LLM's (about 1% of a weight's σ, see above) and 4 blocks
     * compound it to well under 1% of each token's norm.
     */
    @Test
    void int8VitBlocksKeepEveryTokenAtCosine0999() {
        VisionConfig vit = new VisionConfig(1408, 6144, 4, 16, 224, 14, 1e-6);
        Tensor pixels = org.bytedeco.pytorch.global.torch.randn(1, 3, 224, 224);
        float[][] outputs = new float[2][];
        for (int q = 0; q < 2; q++) {
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                StateDict w = StateDict.random(ScalarType.Float, CPU, 42);
                if (q == 1) {
                    w.linears().toInt8(key -> key.endsWith(".weight") && !key.contains("norm") && !key.contains("embedding"));
                }
                outputs[q] = Tensors.toFloats(new VisionEncoder(vit, w).forward(pixels));
                w.linears().workspace().close();
            }
        }
        int tokens = 257, d = 1408;
        double worst = 1;
        for (int t = 0; t < tokens; t++) {
            double dot = 0, a = 0, b = 0;
            for (int i = t * d; i < (t + 1) * d; i++) {
                dot += (double) outputs[0][i] * outputs[1][i];
                a += (double) outputs[0][i] * outputs[0][i];
                b += (double) outputs[1][i] * outputs[1][i];
            }
            worst = Math.min(worst, dot / Math.sqrt(a * b));
        }
        System.out.printf("ViT-g widths, 4 blocks: int8 vs f32 output tokens, lowest cosine %.6f%n", worst);
        assertThat(worst).isGreaterThanOrEqualTo(0.999).isLessThan(1.0);
    }

    /** Positions a bound must decide: 6 of 32 for int8's (8 measured); one as loose as int4's decides none. */
    private static int minDecided(double boundStd) {
        return boundStd <= LOGIT_ERROR_BOUND_STD ? 6 : 0;
    }

    private static double std(float[][] logits) {
        double sum = 0, sumSq = 0;
        long n = 0;
        for (float[] row : logits) {
            for (float v : row) {
                sum += v;
                sumSq += (double) v * v;
                n++;
            }
        }
        return Math.sqrt(sumSq / n - (sum / n) * (sum / n));
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** -Demovit.probe=true: one-token forwards (a decode step's matrix work, 4 layers) in bf16, dense against int8. */
    @Test
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "emovit.probe", matches = "true")
    void timeAOneTokenStepDenseAgainstInt8() {
        for (boolean quantize : new boolean[] {false, true}) {
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                LlamaDecoder llm = wide(ScalarType.BFloat16, quantize);
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

    /**
     * -Demovit.probe=true: a decode step's time split by op kind, int8 against bf16 Linears: the whole one-token
     * forward over 4 layers with a 96-position KV cache, each layer's 7 Linears alone at [1, 1, 4096], the LM head; the
     * rest (norms, rotary, cache append, attention) is the difference.
     */
    @Test
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "emovit.probe", matches = "true")
    void profileADecodeStep() {
        for (boolean quantize : new boolean[] {true, false}) {
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                LlamaDecoder llm = wide(ScalarType.BFloat16, quantize);
                long[] prompt = new long[96];
                java.util.Arrays.fill(prompt, 17);
                Tensor ids = Tensors.fromLongs(prompt, 1, prompt.length);
                Tensor mask = org.bytedeco.pytorch.global.torch.ones_like(ids);
                try (KvCache cache = new KvCache(WIDE.numLayers())) {
                    llm.forward(llm.embed(ids), mask, Ops.positionsFromMask(mask), cache);
                    Tensor one = Tensors.fromLongs(new long[] {17}, 1, 1);
                    Tensor oneMask = org.bytedeco.pytorch.global.torch.ones_like(one);
                    Tensor embeds = llm.embed(one);
                    long[] pos = {96};
                    double step = median(() -> {
                        // the cache grows by one position per step, as in decoding
                        Tensor h = llm.forward(embeds, oneMask, Tensors.fromLongs(new long[] {pos[0]++}, 1, 1), cache);
                        llm.logits(h);
                    });
                    double head = median(() -> llm.logits(embeds));
                    Tensor x = embeds;
                    java.util.Map<String, LinearWeight> linears = new java.util.LinkedHashMap<>();
                    StateDict probe = StateDict.random(ScalarType.BFloat16, CPU, 43);
                    if (quantize) {
                        probe.linears().toInt8(key -> true);
                    }
                    linears.put("q/k/v/o 4096x4096 (x4)", probe.takeLinear("q", 4096, 4096));
                    linears.put("gate/up 11008x4096 (x2)", probe.takeLinear("g", 11008, 4096));
                    Tensor xf = org.bytedeco.pytorch.global.torch.randn(new long[] {1, 1, 11008}, Tensors.options(ScalarType.BFloat16, CPU));
                    double qkvo = median(() -> Ops.linear(x, linears.get("q/k/v/o 4096x4096 (x4)"), null));
                    double gateUp = median(() -> Ops.linear(x, linears.get("gate/up 11008x4096 (x2)"), null));
                    LinearWeight down = probe.takeLinear("d", 4096, 11008);
                    double downMs = median(() -> Ops.linear(xf, down, null));
                    double linearsMs = 4 * (4 * qkvo + 2 * gateUp + downMs);
                    System.out.printf("PROBE decode step, 7B widths, 4 layers, %s, %d threads: step %.1f ms = Linears %.1f ms (q/k/v/o %.2f, "
                                    + "gate/up %.2f, down %.2f ms each) + LM head %.1f ms + the rest %.1f ms%n",
                            quantize ? "int8" : "bf16", org.bytedeco.pytorch.global.torch.get_num_threads(), step, linearsMs, qkvo, gateUp, downMs,
                            head, step - linearsMs - head);
                }
            }
        }
    }

    private static double median(Runnable op) {
        double[] ms = new double[9];
        for (int i = 0; i < ms.length; i++) {
            try (PointerScope scope = new PointerScope()) {
                long t0 = System.nanoTime();
                op.run();
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        java.util.Arrays.sort(ms);
        return ms[ms.length / 2];
    }

    /** The 4-layer LLM at 7B widths, random weights in this dtype, its Linears int8 when asked (freed with the caller's scope). */
    private static LlamaDecoder wide(ScalarType dtype, boolean quantize) {
        return wide(dtype, w -> w.linears().toInt8(key -> quantize));
    }

    static LlamaDecoder wide(ScalarType dtype, java.util.function.Consumer<StateDict> setup) {
        return wide(StateDict.random(dtype, CPU, 42), setup);
    }

    private static LlamaDecoder wide(StateDict w, java.util.function.Consumer<StateDict> setup) {
        setup.accept(w);
        return new LlamaDecoder(WIDE, w);
    }

    /** The float32 weights these tests' model synthesises ({@link StateDict#random}, seed 42). */
    static final java.util.function.Supplier<StateDict> RANDOM_F32 = () -> StateDict.random(ScalarType.Float, CPU, 42);

    /** Per prompt, every position's logits [T][vocab], from one model whose random weights {@code setup} configures. */
    static float[][][] logits(java.util.function.Consumer<StateDict> setup, long[]... prompts) {
        return logits(RANDOM_F32, setup, prompts);
    }

    /** As {@link #logits(java.util.function.Consumer, long[]...)}, from float32 weights that {@code weights} makes. */
    static float[][][] logits(java.util.function.Supplier<StateDict> weights, java.util.function.Consumer<StateDict> setup, long[]... prompts) {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            LlamaDecoder llm = wide(weights.get(), setup);
            float[][][] out = new float[prompts.length][][];
            for (int p = 0; p < prompts.length; p++) {
                Tensor ids = Tensors.fromLongs(prompts[p], 1, prompts[p].length);
                Tensor mask = org.bytedeco.pytorch.global.torch.ones_like(ids);
                Tensor hidden = llm.forward(llm.embed(ids), mask, Ops.positionsFromMask(mask), null);
                float[] flat = Tensors.toFloats(llm.logits(hidden).contiguous());
                out[p] = new float[prompts[p].length][];
                for (int t = 0; t < prompts[p].length; t++) {
                    out[p][t] = java.util.Arrays.copyOfRange(flat, t * 514, (t + 1) * 514);
                }
            }
            return out;
        }
    }
}
