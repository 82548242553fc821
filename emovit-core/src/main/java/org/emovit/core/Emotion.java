package org.emovit.core;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The 8 Mikels emotions of EmoSet, in the seed's alphabetical order (the order of EmoVIT's prompt). */
public enum Emotion {
    AMUSEMENT, ANGER, AWE, CONTENTMENT, DISGUST, EXCITEMENT, FEAR, SADNESS;

    /** EmoSet's own order (its info.json): the four positive emotions, then the four negative ones. */
    public static final List<Emotion> EMOSET_ORDER = List.of(AMUSEMENT, AWE, CONTENTMENT, EXCITEMENT, ANGER, DISGUST, FEAR, SADNESS);

    private static final List<String> LABELS = java.util.Arrays.stream(values()).map(Emotion::label).toList();

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The emotion whose label this is (case and surrounding spaces ignored), or empty. */
    public static Optional<Emotion> fromLabel(String s) {
        if (s == null) {
            return Optional.empty();
        }
        String t = s.strip().toLowerCase(Locale.ROOT);
        for (Emotion e : values()) {
            if (e.label().equals(t)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /** The emotion an option's value names, or an error that names the option and the 8 labels. */
    public static Emotion parse(String value, String option) {
        return fromLabel(value).orElseThrow(() -> new IllegalArgumentException(
                option + " must be one of the 8 (" + String.join(", ", LABELS) + "), not '" + value + "'"));
    }

    /** The labels in alphabetical order. */
    public static List<String> labels() {
        return LABELS;
    }
}
