package org.emovit.attribution;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import org.emovit.core.Emotion;
import org.emovit.core.EmotionJson;
import org.emovit.image.RgbImage;

/**
 * Where in the image an emotion comes from: one weight per patch of the ViT's grid (row-major, {@code side x side},
 * 16 x 16 at 224 px with 14 px patches), each non-negative, summing to 1. The grid covers the whole image, as the
 * model's transform squashes the image to a square without cropping. Plain Java values: no tensors are kept.
 *
 * @param side    patches per row and per column (image_size / patch_size)
 * @param weights {@code side * side} weights, row-major from the top-left patch
 * @param emotion the emotion the map explains (for a rollout, the one asked for: the map itself does not depend on it)
 * @param method  how the map was computed
 */
public record PatchMap(int side, float[] weights, Emotion emotion, Method method) {

    /** How a map was computed. */
    public enum Method {
        /** gradient x activation on the ViT's patch tokens, summed over channels, ReLU (Grad-CAM for ViTs). */
        GRAD_CAM("grad-cam"),
        /** the Q-Former's cross-attention over the image tokens, averaged over heads, queries and layers. */
        ROLLOUT("rollout");

        private final String label;

        Method(String label) {
            this.label = label;
        }

        /** The name options, the API and the JSON use: grad-cam, rollout. */
        public String label() {
            return label;
        }

        /** The method with this label; otherwise an error naming {@code field} and the choices. */
        public static Method parse(String s, String field) {
            for (Method m : values()) {
                if (m.label.equalsIgnoreCase(s == null ? "" : s.strip())) {
                    return m;
                }
            }
            throw new IllegalArgumentException(field + ": '" + s + "' is not a heat map method (grad-cam or rollout)");
        }
    }

    public PatchMap {
        if (side <= 0 || weights.length != side * side) {
            throw new IllegalArgumentException("a " + side + "x" + side + " map needs " + side * side + " weights, got " + weights.length);
        }
        weights = weights.clone();
    }

    /** The weight of the patch at this row and column. */
    public float at(int row, int column) {
        return weights[row * side + column];
    }

    @Override
    public float[] weights() {
        return weights.clone();
    }

    /**
     * Non-negative scores normalised to sum to 1. An all-zero map (no patch pushes the answer up, which a ReLU'd
     * Grad-CAM can give) becomes uniform: "no patch stands out" rather than a division by zero.
     */
    static PatchMap normalised(int side, double[] scores, Emotion emotion, Method method) {
        double sum = 0;
        for (double s : scores) {
            if (!(s >= 0) || Double.isInfinite(s)) {
                throw new IllegalArgumentException("scores must be finite and non-negative, got " + s);
            }
            sum += s;
        }
        float[] w = new float[scores.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = sum > 0 ? (float) (scores[i] / sum) : 1f / w.length;
        }
        return new PatchMap(side, w, emotion, method);
    }

    /** Writes the image with this map blended over it as a colour map, and a legend bar (see {@link Overlay}). */
    public void overlayPng(RgbImage image, Path file) throws IOException {
        Overlay.writePng(image, this, file);
    }

    /** The same overlay as PNG bytes (for a data URL). */
    public byte[] overlayPng(RgbImage image) {
        return Overlay.png(image, this);
    }

    /**
     * Adds this map as the result's "heatmap" field, written as every front door writes it (see
     * {@link EmotionJson#writeHeatmap}); {@code overlay} is where its picture is (a file or a data URL), or null.
     */
    public ObjectNode writeJson(ObjectNode into, String overlay) {
        return EmotionJson.writeHeatmap(into, method.label(), emotion.label(), side, weights, overlay);
    }
}
