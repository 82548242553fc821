package org.emovit.eval;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Map;

/**
 * One line of predictions.jsonl. {@code id} is the image's path relative to the dataset root (unique within a
 * set, unlike a file name). {@code predicted} may be a label outside the 8 (generate mode); when the item
 * failed, {@code error} says why and {@code predicted} is null.
 */
@JsonPropertyOrder({"id", "image", "gold", "predicted", "probabilities", "explanation", "error"})
public record Prediction(String id, String image, String gold, String predicted,
                         @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Double> probabilities,
                         String explanation, String error) {
    public Prediction {
        probabilities = probabilities == null ? Map.of() : probabilities;
    }
}
