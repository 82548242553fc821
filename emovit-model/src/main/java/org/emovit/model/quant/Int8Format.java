package org.emovit.model.quant;

import org.bytedeco.pytorch.Tensor;
import org.emovit.model.ModelLoadException;
import org.emovit.model.Tensors;

/**
 * The rule an int8 Linear weight in a checkpoint follows, checked wherever one is read or made (the loader, and so
 * {@code emovit convert} of an int8 model; the converter's quantiser): {@code <name>.weight} I8 [N, K] has exactly
 * one {@code <name>.weight_scale} F32 [N], every scale finite and positive, so that {@code weight ≈ values *
 * scale[:, None]}. A NaN or infinite scale made every probability 0 without an error, a zero or negative one a
 * silently wrong model, and int8 values without their scales ran as a dense weight of raw integers: each is refused
 * in one line naming the key and the file.
 */
public final class Int8Format {
    private Int8Format() {}

    /** What follows a weight's key in its scales' key. */
    public static final String SCALE_SUFFIX = "_scale";

    private static final SiblingKey SCALES = new SiblingKey(SCALE_SUFFIX);

    /** The key of a weight's scales: {@code <name>.weight} → {@code <name>.weight_scale}. */
    public static String scaleKeyOf(String weightKey) {
        return SCALES.of(weightKey);
    }

    /** Whether a key names the scales of an int8 Linear weight. */
    public static boolean isScaleKey(String key) {
        return SCALES.matches(key);
    }

    /** The weight a scales key belongs to. */
    public static String weightKeyOf(String scaleKey) {
        return SCALES.weightOf(scaleKey);
    }

    /**
     * Refuses scales (float32 [N], as taken) that are not all finite and positive, naming the first bad row.
     *
     * @param key    the scales' key
     * @param origin where they come from (a file, or {@link #quantisedFrom} one)
     */
    public static void requireValidScales(Tensor scales, String key, String origin) {
        float[] s = Tensors.toFloats(scales);
        for (int row = 0; row < s.length; row++) {
            if (!Float.isFinite(s[row]) || s[row] <= 0) {
                throw new ModelLoadException("int8 scale '" + key + "' from " + origin + " is " + s[row] + " at row " + row
                        + ": every scale must be finite and positive");
            }
        }
    }

    /** The origin of scales just computed from the float weight that {@code origin} holds. */
    public static String quantisedFrom(String origin) {
        return origin + " (its weight quantised)";
    }

    /** An int8 tensor the model would take as a dense weight: its scales are missing. */
    public static ModelLoadException missingScale(String key, String origin) {
        return new ModelLoadException("int8 tensor '" + key + "' from " + origin + " has no scales '" + scaleKeyOf(key)
                + "': an int8 Linear weight needs its F32 [out] scales beside it");
    }

    /** Scales left over once the model took its weights: no int8 Linear weight of that name. */
    public static String strayScale(String key, String origin, boolean weightExists) {
        return "stray int8 scale '" + key + "' from " + origin + ": '" + weightKeyOf(key) + "' is "
                + (weightExists ? "not an int8 Linear weight" : "not in the checkpoint");
    }
}
