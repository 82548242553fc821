package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * At the 7B LLM's widths with 4 layers of random weights (as {@link Int8SevenBWidthTest}, whose f32 logits it
 * shares), 4-bit Linears through the shipped path (the CPU's 4-bit kernel: the native one where it loaded, with int8
 * activations, else libtorch's, else the dequantised weight, so it runs everywhere) keep every logit within a stated
 * bound of float32's, the greedy token wherever float32's top-two margin exceeds twice that bound, the last
 * position's cosine above a floor, and they are at least as close to float32 as llama.cpp's Q4_0 on the same weights.
 *
 * <p>The bound and floor are what 4 bits give here, not the 0.995 cosine that issue 25 asks for: a group of 32 normal
 * weights spans about 4σ in 15 steps, a rounding error of about 0.07 of a product's norm (8x int8's per channel), and
 * 1 - cosine grows as its square, compounded over 4 layers of weights that repeat one random pool (so q, k, v and o
 * are the same matrix and their errors add up). Q4_0 itself, the format the issue measures against, stays as far from
 * float32 ({@link #symmetric}, below): the floor is set by 4-bit rounding, not by this implementation. A bound of 1.6
 * std decides no greedy token of these prompts (their top-two margins are smaller).
 *
 * <p>{@link #bitsAWeightThatTheIssuesCosineNeeds} (a probe, {@code -Demovit.probe=true}) measures how many bits a
 * weight 0.995 takes: the same rounding with 5, 6 and 8 bits a level. 1 - cosine falls with the weights' squared
 * rounding error (4x a bit), and 0.995 lies between 5.5 and 6.5 bits a weight, where decoding, which reads every
 * weight once, reads 22-44% more bytes than Q4_0's 4.5. The issue's two targets, Q4_0's decode speed and 0.995, do
 * not hold together on these weights; the README gives the figures. The probe also builds the model from independent
 * weights ({@link StateDict#independentRandom}), which is further from float32 for every format.
 */
class Int4SevenBWidthTest {
    private static final double LOGIT_ERROR_BOUND_STD = 1.6;
    private static final double MIN_COSINE = 0.9;

    private static float[][][] int4;

    private static synchronized float[][][] int4Logits() {
        if (int4 == null) {
            int4 = Int8SevenBWidthTest.logits(w -> w.linears().toInt4(key -> true), Int8SevenBWidthTest.IDS, Int8SevenBWidthTest.LONG_PROMPT);
        }
        return int4;
    }

    @Test
    void int4LogitsStayWithinTheBound() {
        org.assertj.core.api.SoftAssertions soft = new org.assertj.core.api.SoftAssertions();
        Int8SevenBWidthTest.checkAgainstF32(Int8SevenBWidthTest.f32Logits(), int4Logits(), "int4", LOGIT_ERROR_BOUND_STD, MIN_COSINE, soft);
        soft.assertAll();
    }

    /**
     * The same model with every 4-bit Linear (the LM head too) replaced by its llama.cpp Q4_0 rounding, in float32:
     * over every position of both prompts the shipped 4-bit logits are, on average, at least as close to float32's.
     */
    @Test
    void int4IsAtLeastAsCloseToFloat32AsLlamaCppQ4_0() {
        float[][][] f32 = Int8SevenBWidthTest.f32Logits();
        float[][][] q40 = Int8SevenBWidthTest.logits(w -> roundSymmetric(w, Int8SevenBWidthTest.RANDOM_F32, 4), Int8SevenBWidthTest.IDS, Int8SevenBWidthTest.LONG_PROMPT);
        float[][][] ours = int4Logits();
        for (int p = 0; p < f32.length; p++) {
            double oursCos = meanCosine(f32[p], ours[p]), q40Cos = meanCosine(f32[p], q40[p]);
            System.out.printf(java.util.Locale.ROOT, "7B widths, 4 layers, %d-token prompt: mean cosine to f32 over the positions, "
                    + "int4 %.5f, llama.cpp Q4_0 %.5f%n", f32[p].length, oursCos, q40Cos);
            assertThat(oursCos).as("int4's mean cosine to f32 against Q4_0's, %d-token prompt", f32[p].length)
                    .isGreaterThanOrEqualTo(q40Cos).isLessThan(1.0);
        }
    }

    /**
     * -Demovit.probe=true: the mean cosine to float32 of Q4_0's rounding with 4, 5, 6 and 8 bits a level (4.5 to 8.5 bits
     * a weight with the fp16 scale), then on independent weights float32 against int4 and Q4_0 (some 6 minutes here).
     */
    @Test
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "emovit.probe", matches = "true")
    void bitsAWeightThatTheIssuesCosineNeeds() {
        long[][] prompts = {Int8SevenBWidthTest.IDS, Int8SevenBWidthTest.LONG_PROMPT};
        float[][][] f32 = Int8SevenBWidthTest.f32Logits();
        for (int bits : new int[] {4, 5, 6, 8}) {
            float[][][] rounded = Int8SevenBWidthTest.logits(w -> roundSymmetric(w, Int8SevenBWidthTest.RANDOM_F32, bits), prompts);
            System.out.printf(java.util.Locale.ROOT, "PROBE %d bits a level (%.1f a weight): mean cosine to f32 %.5f / %.5f (8 / 24 tokens)%n",
                    bits, bits + 0.5, meanCosine(f32[0], rounded[0]), meanCosine(f32[1], rounded[1]));
        }
        java.util.function.Supplier<StateDict> independent = () -> StateDict.independentRandom(ScalarType.Float, Int8SevenBWidthTest.CPU, 42);
        float[][][] f32i = Int8SevenBWidthTest.logits(independent, w -> { }, prompts);
        float[][][] int4i = Int8SevenBWidthTest.logits(independent, w -> w.linears().toInt4(key -> true), prompts);
        float[][][] q40i = Int8SevenBWidthTest.logits(independent, w -> roundSymmetric(w, independent, 4), prompts);
        System.out.printf(java.util.Locale.ROOT, "PROBE independent weights: mean cosine to f32, int4 %.5f / %.5f, Q4_0 %.5f / %.5f (8 / 24 tokens)%n",
                meanCosine(f32i[0], int4i[0]), meanCosine(f32i[1], int4i[1]), meanCosine(f32i[0], q40i[0]), meanCosine(f32i[1], q40i[1]));
    }

    /** The LLM's Linear weights (those {@code toInt4} quantises), as {@code base} makes them, read through their {@link #symmetric} rounding. */
    private static void roundSymmetric(StateDict w, java.util.function.Supplier<StateDict> base, int bits) {
        StateDict source = base.get();
        String[] linears = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                "mlp.up_proj", "mlp.down_proj"};
        java.util.Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        for (int layer = 0; layer < 4; layer++) {
            for (String l : linears) {
                shapes.put("language_model.model.layers." + layer + "." + l + ".weight", l.equals("mlp.down_proj") ? new long[] {4096, 11008}
                        : l.startsWith("mlp") ? new long[] {11008, 4096} : new long[] {4096, 4096});
            }
        }
        shapes.put("language_model.lm_head.weight", new long[] {514, 4096});
        shapes.forEach((key, shape) -> w.put(key, new StateDict.Entry(shape, bits + "-bit symmetric rounding",
                () -> Owned.handBack(Owned.step(() -> symmetric(source.take(key, shape), bits))))));
    }

    /**
     * llama.cpp's Q4_0 as ggml's quantize_row_q4_0_ref rounds (bits = 4), or the same with more levels: blocks of 32,
     * d = (the value of largest magnitude) / -2^(bits-1) stored in fp16, q = min(2^bits - 1, (int) (x / d + 2^(bits-1) + 0.5)),
     * dequantised (q - 2^(bits-1)) * d.
     */
    static Tensor symmetric(Tensor w, int bits) {
        long n = w.size(0), k = w.size(1);
        double half = 1 << (bits - 1);
        Tensor x = w.reshape(n, k / 32, 32);
        Tensor m = x.gather(2, x.abs().argmax(new LongOptional(2), true));
        Tensor d = m.div(new Scalar(-half)).to(ScalarType.Half).to(ScalarType.Float);
        Tensor inverse = torch.where(d.eq(new Scalar(0)), torch.zeros_like(d), d.reciprocal());
        Tensor q = torch.floor(x.mul(inverse).add(new Scalar(half + 0.5))).clamp(new ScalarOptional(new Scalar(0)),
                new ScalarOptional(new Scalar(2 * half - 1)));
        return q.sub(new Scalar(half)).mul(d).view(n, k);
    }

    private static double meanCosine(float[][] x, float[][] y) {
        double sum = 0;
        for (int t = 0; t < x.length; t++) {
            double dot = 0, a = 0, b = 0;
            for (int i = 0; i < x[t].length; i++) {
                dot += (double) x[t][i] * y[t][i];
                a += (double) x[t][i] * x[t][i];
                b += (double) y[t][i] * y[t][i];
            }
            sum += dot / Math.sqrt(a * b);
        }
        return sum / x.length;
    }
}
