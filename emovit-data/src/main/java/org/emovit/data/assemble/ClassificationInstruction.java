package org.emovit.data.assemble;

import org.emovit.eval.Emotion;

/**
 * The categorical instruction of the seed's {@code all.py}, a compatibility constant: EmoVIT's released weights
 * were tuned on this exact string (no space after "options:", two spaces before "Predict").
 *
 * <p>The same constant is {@code org.emovit.generate.Prompts.CLASSIFICATION_INSTRUCTION} in {@code emovit-model};
 * it is repeated here because depending on that module would pull libtorch into the data tools. A test checks the
 * text.
 */
public final class ClassificationInstruction {
    private ClassificationInstruction() {
    }

    public static final String TEXT = "Please select the emotion closest to the image from the following options:"
            + "amusement, anger, awe, contentment, disgust, excitement, fear and sadness "
            + "(Do not provide answers outside of the candidates options.) Please answer in the following format:  "
            + "Predict emotion:";

    /** The answer of a categorical record: {@code "Predict emotion: " + emotion}. */
    public static String answer(Emotion e) {
        return "Predict emotion: " + e.label();
    }

    /**
     * The answer text the seed trains on: EmoVIT's model removes the word "Complex" from every answer before
     * tokenizing ({@code samples["answer"][i].replace('Complex', '')} in its {@code blip2_vicuna_instruct.py}).
     * {@code all.json} keeps the text as replied, as the seed's does; the training data loader applies this.
     */
    public static String trainingAnswer(String gptValue) {
        return gptValue.replace("Complex", "");
    }
}
