package org.emovit.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A classification as JSON, the one way every front door writes it: `emovit classify`'s lines, /v1/emotions'
 * answers and `emovit eval`'s predictions.jsonl give the same image the same bytes for its probabilities.
 */
public final class EmotionJson {
    private EmotionJson() {}

    /**
     * A probability as written: to 6 decimals. The float32 model's last digits move with the batch an image is
     * in and the thread count; rounded, one image reads the same wherever it was classified.
     */
    public static double round(double probability) {
        return Math.round(probability * 1e6) / 1e6;
    }

    /** The probabilities as written, in their order (alphabetical). */
    public static Map<String, Double> probabilities(Map<String, Double> probabilities) {
        Map<String, Double> out = new LinkedHashMap<>();
        probabilities.forEach((label, p) -> out.put(label, round(p)));
        return out;
    }

    /**
     * Adds a result's fields to {@code into}: "emotion"; "outside_labels": true when a generated answer is not
     * one of the 8; "probabilities" (score mode); "generated" (generate mode); "explanation" unless null.
     */
    public static ObjectNode write(ObjectNode into, EmotionResult result, String explanation) {
        into.put("emotion", result.label());
        if (result.emotion() == null && result.label() != null) {
            into.put("outside_labels", true);
        }
        if (!result.probabilities().isEmpty()) {
            ObjectNode p = into.putObject("probabilities");
            probabilities(result.probabilities()).forEach(p::put);
        }
        if (result.generated() != null) {
            into.put("generated", result.generated());
        }
        if (explanation != null) {
            into.put("explanation", explanation);
        }
        return into;
    }

    /** Adds a failed image's fields to {@code into}: "emotion": null and the "error". */
    public static ObjectNode writeError(ObjectNode into, String error) {
        into.putNull("emotion");
        into.put("error", error);
        return into;
    }
}
