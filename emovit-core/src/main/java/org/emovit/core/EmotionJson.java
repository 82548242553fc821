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

    /**
     * Adds where in the image the emotion comes from as the "heatmap" field: {"method" (grad-cam or rollout),
     * "emotion" (the one explained), "side" (patches per row and column), "weights" (side x side, row-major from the
     * top-left patch, summing to 1, written as the floats they are: a 16 x 16 map's weights are near 0.004, which 6
     * decimals, as the probabilities are written, would keep to 3 digits only), "overlay" (the picture: a file or
     * a data URL) unless null}.
     */
    public static ObjectNode writeHeatmap(ObjectNode into, String method, String emotion, int side, float[] weights, String overlay) {
        ObjectNode h = into.putObject("heatmap");
        h.put("method", method);
        h.put("emotion", emotion);
        h.put("side", side);
        com.fasterxml.jackson.databind.node.ArrayNode w = h.putArray("weights");
        for (float x : weights) {
            w.add(x);
        }
        if (overlay != null) {
            h.put("overlay", overlay);
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
