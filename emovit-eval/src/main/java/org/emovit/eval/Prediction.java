package org.emovit.eval;

import java.util.Map;

/**
 * One line of predictions.jsonl. {@code predicted} may be a label outside the 8 (generate mode); when the item
 * failed, {@code error} says why and {@code predicted} is null.
 */
public record Prediction(String id, String image, String gold, String predicted, Map<String, Double> probabilities,
                         String explanation, String error) {}
