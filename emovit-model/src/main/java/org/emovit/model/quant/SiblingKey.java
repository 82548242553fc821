package org.emovit.model.quant;

/**
 * The one key rule of quantised Linears in a checkpoint: {@code <name>.weight} holds the weight's values and
 * {@code <name>.weight<suffix>} the parameters that give them meaning (int8's scales, int4's scales and zeros); the
 * loader recognises a quantised weight by that sibling.
 */
public record SiblingKey(String suffix) {
    /** The sibling's key of a weight: {@code <name>.weight} → {@code <name>.weight<suffix>}. */
    public String of(String weightKey) {
        return weightKey + suffix;
    }

    /** Whether a key names such a sibling. */
    public boolean matches(String key) {
        return key.endsWith(".weight" + suffix);
    }

    /** The weight a sibling's key belongs to. */
    public String weightOf(String siblingKey) {
        return siblingKey.substring(0, siblingKey.length() - suffix.length());
    }
}
