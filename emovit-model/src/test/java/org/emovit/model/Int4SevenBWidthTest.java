package org.emovit.model;

import org.emovit.model.quant.Int4Kernel;
import org.junit.jupiter.api.Test;

/**
 * At the 7B LLM's widths with 4 layers of random weights (as {@link Int8SevenBWidthTest}, whose f32 logits it
 * shares), 4-bit Linears through the CPU's 4-bit kernel (native where it loaded, else libtorch's) keep every logit within a stated bound of float32's, the greedy
 * token wherever float32's top-two margin exceeds twice that bound, and the last position's cosine above a floor.
 *
 * <p>Both are what 4 bits give here, not the 0.995 cosine that issue 25 asks for: a group of 32 normal weights spans
 * about 4σ in 15 steps, a rounding error of RMS 0.077 of a product's norm (8.5x int8's per channel), and 1 - cosine
 * grows as its square, compounded over 4 layers: measured 0.972 (8 tokens) and 0.920 (24), max |diff| 0.74 and 1.17
 * std (libtorch's kernel; the native one, with int8 activations: 0.972 and 0.915, 0.93 and 1.53). Keeping the LM head int8 (as llama.cpp's Q4_0 files keep theirs at 6 bits) moved the cosines by 0.004 and
 * 0.001: the layers dominate. A bound of 1.6 std decides no greedy token of these prompts (their top-two margins are smaller).
 */
class Int4SevenBWidthTest {
    private static final double LOGIT_ERROR_BOUND_STD = 1.6;
    private static final double MIN_COSINE = 0.9;

    @Test
    void int4LogitsStayWithinTheBound() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Int4Kernel.available(), "no 4-bit kernel in this libtorch");
        float[][][] int4 = Int8SevenBWidthTest.logits(w -> w.linears().toInt4(key -> true),
                Int8SevenBWidthTest.IDS, Int8SevenBWidthTest.LONG_PROMPT);
        org.assertj.core.api.SoftAssertions soft = new org.assertj.core.api.SoftAssertions();
        Int8SevenBWidthTest.checkAgainstF32(Int8SevenBWidthTest.f32Logits(), int4, "int4 kernel", LOGIT_ERROR_BOUND_STD, MIN_COSINE, soft);
        soft.assertAll();
    }
}
