package org.emovit.generate;

/** The prompt texts EmoVIT's released weights were tuned on (spec section 2), kept byte for byte. */
public final class Prompts {
    private Prompts() {}

    /**
     * EmoVIT's classification instruction. The missing space after "options:" and the double space before
     * "Predict" are part of it: the seed builds it from backslash-continued lines.
     */
    public static final String CLASSIFICATION_INSTRUCTION =
            "Please select the emotion closest to the image from the following options:"
            + "amusement, anger, awe, contentment, disgust, excitement, fear and sadness "
            + "(Do not provide answers outside of the candidates options.) "
            + "Please answer in the following format:  Predict emotion:";
}
