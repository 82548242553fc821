package org.emovit.generate;

import java.io.Serializable;

/**
 * How to decode. {@link #emovit()} is EmoVIT's `generate` call (spec section 5): one beam, up to 256 tokens,
 * repetition penalty 5; {@link #lavis()} is LAVIS InstructBLIP's default: 5 beams, repetition penalty 1.5.
 *
 * @param numBeams          1 = greedy
 * @param maxNewTokens      most tokens to generate
 * @param minNewTokens      EOS is forbidden before this many tokens
 * @param repetitionPenalty HF's: a token already generated has its score divided (if > 0) or multiplied (if < 0) by it
 * @param lengthPenalty     beam hypotheses are ranked by sum(log p) / length^lengthPenalty
 * @param sampling          null: the highest-scoring token (greedy); else sample with these settings (one beam only)
 *
 * Serializable (with its {@link Sampling}) because the Spark jobs ship it to their executors as it is.
 */
public record GenerationConfig(int numBeams, int maxNewTokens, int minNewTokens, double repetitionPenalty, double lengthPenalty,
                               Sampling sampling) implements Serializable {

    public GenerationConfig {
        if (numBeams < 1 || maxNewTokens < 1 || minNewTokens < 0 || repetitionPenalty <= 0) {
            throw new IllegalArgumentException("invalid generation settings: beams " + numBeams + ", max " + maxNewTokens
                    + ", min " + minNewTokens + ", repetition penalty " + repetitionPenalty);
        }
        if (sampling != null && numBeams != 1) {
            throw new IllegalArgumentException("sampling decodes one beam, not " + numBeams);
        }
    }

    /** Deterministic decoding (greedy or beam search). */
    public GenerationConfig(int numBeams, int maxNewTokens, int minNewTokens, double repetitionPenalty, double lengthPenalty) {
        this(numBeams, maxNewTokens, minNewTokens, repetitionPenalty, lengthPenalty, null);
    }

    public static GenerationConfig emovit() {
        return new GenerationConfig(1, 256, 1, 5.0, 1.0);
    }

    public static GenerationConfig lavis() {
        return new GenerationConfig(5, 256, 1, 1.5, 1.0);
    }

    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(1, maxNewTokens, 0, 1.0, 1.0);
    }

    public GenerationConfig withMaxNewTokens(int n) {
        return new GenerationConfig(numBeams, n, minNewTokens, repetitionPenalty, lengthPenalty, sampling);
    }

    public GenerationConfig withNumBeams(int n) {
        return new GenerationConfig(n, maxNewTokens, minNewTokens, repetitionPenalty, lengthPenalty, n == 1 ? sampling : null);
    }

    /** The same settings, sampling (null: greedy). */
    public GenerationConfig withSampling(Sampling s) {
        return new GenerationConfig(numBeams, maxNewTokens, minNewTokens, repetitionPenalty, lengthPenalty, s);
    }
}
