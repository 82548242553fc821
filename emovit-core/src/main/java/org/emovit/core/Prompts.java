package org.emovit.core;

/**
 * The texts EmoVIT's released weights were tuned on (spec section 2), kept byte for byte, and the other fixed
 * instructions the tools ask the model. The one place a prompt or an answer format is written.
 */
public final class Prompts {
    private Prompts() {}

    /**
     * EmoVIT's classification instruction (the categorical records of all.json and the question at inference).
     * The missing space after "options:" and the double space before "Predict" are part of it: the seed builds
     * it from backslash-continued lines.
     */
    public static final String CLASSIFICATION_INSTRUCTION =
            "Please select the emotion closest to the image from the following options:"
            + "amusement, anger, awe, contentment, disgust, excitement, fear and sadness "
            + "(Do not provide answers outside of the candidates options.) "
            + "Please answer in the following format:  Predict emotion:";

    /** What precedes the label in a categorical answer. */
    public static final String ANSWER_PREFIX = "Predict emotion: ";

    /** The instruction the InstructBLIP captioner uses (the alternative to the seed's BLIP-2 OPT captions). */
    public static final String CAPTION_INSTRUCTION = "A short image caption:";

    /** The answer of a categorical record, and what score mode scores: {@code "Predict emotion: " + label}. */
    public static String answer(Emotion e) {
        return ANSWER_PREFIX + e.label();
    }

    /**
     * The answer text the model is trained on: EmoVIT removes the word "Complex" from every answer before
     * tokenizing ({@code samples["answer"][i].replace('Complex', '')} in its {@code blip2_vicuna_instruct.py}).
     * The result is stripped: a removed leading "Complex" must not leave a space that the LLaMA tokenizer would
     * turn into an extra piece (the training parity tests were checked this way). {@code all.json} keeps the
     * text as replied; only the training batches apply this.
     */
    public static String trainingAnswer(String gptValue) {
        return gptValue.replace("Complex", "").strip();
    }

    /** The question asked for an explanation of a predicted emotion (EmoVIT's reasoning data asks such "why" questions). */
    public static String explanationQuestion(String label) {
        return "Why does this image evoke " + (label == null ? "this emotion" : label)
                + "? Explain what in the image causes this feeling.";
    }
}
