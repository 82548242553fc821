package org.emovit.data;

import org.emovit.core.Emotion;

import java.util.EnumSet;
import java.util.Set;

/**
 * Which images of a split a stage works on, as the seed picks them: for each class, the entries with index
 * {@code from} (inclusive) to {@code to} (exclusive) of that class's entries in list order.
 *
 * @param split   the split: {@code train}, {@code val}, {@code test} (a file {@code <name>.json} in the EmoSet
 *                root) or a path to a split list
 * @param from    first index per class
 * @param to      end index per class (exclusive); {@link Integer#MAX_VALUE} for all
 * @param classes the classes, in alphabetical order when iterated
 */
public record Selection(String split, int from, int to, Set<Emotion> classes) {
    /** Reasoning: indices 0..99 of each class's train list ({@code gpt4_reasoning.py}). */
    public static final Selection REASONING = new Selection("train", 0, 100, EnumSet.allOf(Emotion.class));
    /** Conversation: indices 0..999 of each class's train list ({@code gpt4_conversation.py}). */
    public static final Selection CONVERSATION = new Selection("train", 0, 1000, EnumSet.allOf(Emotion.class));
    /** Categorical records: indices 1000..5599 of each class's train list ({@code all.py}). */
    public static final Selection CATEGORICAL = new Selection("train", 1000, 5600, EnumSet.allOf(Emotion.class));

    public Selection {
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("bad index range " + from + ".." + to);
        }
        classes = classes == null || classes.isEmpty() ? EnumSet.allOf(Emotion.class) : EnumSet.copyOf(classes);
    }

    public Selection withRange(int newFrom, int newTo) {
        return new Selection(split, newFrom, newTo, classes);
    }

    public Selection withSplit(String newSplit) {
        return new Selection(newSplit, from, to, classes);
    }

    public Selection withClasses(Set<Emotion> newClasses) {
        return new Selection(split, from, to, newClasses);
    }

    /** All entries of every class of a split. */
    public static Selection all(String split) {
        return new Selection(split, 0, Integer.MAX_VALUE, EnumSet.allOf(Emotion.class));
    }

    /** Parses {@code A..B} (B inclusive, as written by people: {@code 1000..5599}) or {@code A-B} likewise. */
    public static int[] parseRange(String s) {
        String[] p = s.contains("..") ? s.split("\\.\\.", 2) : s.split("-", 2);
        if (p.length != 2) {
            throw new IllegalArgumentException("expected a range FROM..TO, got '" + s + "'");
        }
        int a = Integer.parseInt(p[0].strip());
        int b = Integer.parseInt(p[1].strip());
        if (a < 0 || b < a) {
            throw new IllegalArgumentException("bad range '" + s + "'");
        }
        return new int[] {a, b + 1};
    }
}
