package org.emovit.attribution;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.emovit.api.EmoVit;
import org.emovit.core.Emotion;
import org.emovit.core.Prompts;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlipInputs;
import org.emovit.model.Tensors;

/**
 * Is a map faithful? The deletion check: mask the patches in the map's order (highest weight first) and watch the
 * emotion's score-mode probability fall; a faithful map makes it fall faster than masking the same number of
 * patches in a random order. A masked patch is set to the normalised zero (the dataset's mean colour) in the
 * pixels the model sees, after the transform, so exactly that patch's pixels change. Lower area under the curve =
 * faster fall = more faithful.
 */
public final class Faithfulness {
    /** The seed of the random order when none is given: runs are repeatable. */
    public static final long DEFAULT_SEED = 18;

    private Faithfulness() {}

    /**
     * Deletion curves in both orders and their areas.
     *
     * @param mapCurve    the emotion's probability after masking 0, 1/steps, ..., all of the patches in the map's order
     * @param randomCurve the same in the random order
     * @param mapAuc      area under {@code mapCurve} over the deleted fraction 0..1 (trapezoids)
     * @param randomAuc   area under {@code randomCurve}
     */
    public record Deletion(double[] mapCurve, double[] randomCurve, double mapAuc, double randomAuc) {
        /** True when masking by the map lowers the probability faster than masking at random. */
        public boolean beatsRandom() {
            return mapAuc < randomAuc;
        }
    }

    /** {@link #deletionAuc(EmoVit, RgbImage, Emotion, PatchMap, int, long)} with {@link #DEFAULT_SEED}. */
    public static Deletion deletionAuc(EmoVit emoVit, RgbImage image, Emotion emotion, PatchMap map, int steps) {
        return deletionAuc(emoVit, image, emotion, map, steps, DEFAULT_SEED);
    }

    /** The deletion check with {@code steps} + 1 points per curve (0 to all patches masked); seeded random order. */
    public static Deletion deletionAuc(EmoVit emoVit, RgbImage image, Emotion emotion, PatchMap map, int steps, long seed) {
        int patches = map.side() * map.side();
        if (steps < 1 || steps > patches) {
            throw new IllegalArgumentException("steps must be 1.." + patches + ", got " + steps);
        }
        int imageSize = emoVit.model().config().vision().imageSize(), patch = emoVit.model().config().vision().patchSize();
        if (imageSize / patch != map.side()) {
            throw new IllegalArgumentException("the map's grid is " + map.side() + " per side, the model's " + imageSize / patch);
        }
        List<Integer> byMap = new ArrayList<>();
        for (int i = 0; i < patches; i++) {
            byMap.add(i);
        }
        List<Integer> random = new ArrayList<>(byMap);
        Collections.shuffle(random, new Random(seed));
        float[] w = map.weights();
        byMap.sort(Comparator.comparingDouble((Integer i) -> -w[i]).thenComparingInt(i -> i));   // stable: ties by index

        float[] pixels = emoVit.processor().transform().apply(image);
        double[] mapCurve = curve(emoVit, image, pixels, byMap, emotion, steps, imageSize, patch);
        double[] randomCurve = curve(emoVit, image, pixels, random, emotion, steps, imageSize, patch);
        return new Deletion(mapCurve, randomCurve, area(mapCurve), area(randomCurve));
    }

    /** One batch of steps + 1 rows, row k with the first round(k * patches / steps) patches of the order masked. */
    private static double[] curve(EmoVit emoVit, RgbImage image, float[] pixels, List<Integer> order, Emotion emotion, int steps,
                                  int size, int patch) {
        int rows = steps + 1, side = size / patch, plane = size * size, patches = order.size();
        float[] batch = new float[rows * pixels.length];
        for (int k = 0; k < rows; k++) {
            System.arraycopy(pixels, 0, batch, k * pixels.length, pixels.length);
            int masked = (int) Math.round((double) k * patches / steps);
            for (int m = 0; m < masked; m++) {
                int p = order.get(m), top = (p / side) * patch, left = (p % side) * patch;
                for (int c = 0; c < 3; c++) {
                    for (int y = top; y < top + patch; y++) {
                        int from = k * pixels.length + c * plane + y * size + left;
                        java.util.Arrays.fill(batch, from, from + patch, 0f);   // the normalised mean colour
                    }
                }
            }
        }
        try (PointerScope scope = new PointerScope()) {
            // The instruction's ids and masks as score mode makes them, the pixels replaced by the masked copies.
            InstructBlipInputs plain = emoVit.processor().encode(Collections.nCopies(rows, image),
                    Collections.nCopies(rows, Prompts.CLASSIFICATION_INSTRUCTION));
            InstructBlipInputs masked = new InstructBlipInputs(Tensors.fromFloats(batch, rows, 3, size, size),
                    plain.qformerInputIds(), plain.qformerAttentionMask(), plain.inputIds(), plain.attentionMask());
            double[] out = new double[rows];
            List<EmoVit.Result> results = emoVit.score(masked);
            for (int k = 0; k < rows; k++) {
                out[k] = results.get(k).probabilities().get(emotion.label());
            }
            return out;
        }
    }

    /** Trapezoid area of a curve sampled at 0, 1/steps, ..., 1. */
    static double area(double[] curve) {
        double sum = 0;
        int steps = curve.length - 1;
        for (int k = 0; k < steps; k++) {
            sum += (curve[k] + curve[k + 1]) / 2;
        }
        return sum / steps;
    }
}
