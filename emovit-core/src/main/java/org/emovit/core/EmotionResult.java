package org.emovit.core;

import java.util.Map;

/**
 * What classifying one image answered, in plain values, so that {@link EmotionJson} can write it without
 * libtorch: the model's {@code EmoVit.Result} is one.
 */
public interface EmotionResult {

    /** The predicted label: one of the 8, or (generate mode) whatever the model answered, or null. */
    String label();

    /** The predicted emotion, null when the answer is not one of the 8. */
    Emotion emotion();

    /** Score mode: label -> probability, alphabetical; generate mode: empty. */
    Map<String, Double> probabilities();

    /** Generate mode: the decoded answer; score mode: null. */
    String generated();
}
