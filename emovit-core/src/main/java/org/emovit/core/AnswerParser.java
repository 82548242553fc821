package org.emovit.core;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the emotion from a generated answer. The tuned model answers "Predict emotion: X"; the parser accepts
 * any case and spacing, a trailing period or other punctuation, and a bare label without the prefix. What
 * follows the prefix is the answer even when it is not one of the 8 ("joy" stays "joy", with no emotion): an
 * answer outside the labels is reported, never mapped to a near one.
 */
public final class AnswerParser {
    private AnswerParser() {}

    /**
     * @param raw     the generated text
     * @param label   the answer word(s) found, lower-case, or null when the text has none
     * @param emotion the emotion when the label is one of the 8, else null
     */
    public record ParsedAnswer(String raw, String label, Emotion emotion) {}

    private static final Pattern PREFIXED = Pattern.compile("predict\\s*emotion\\s*[:：]\\s*([\\p{L}][\\p{L}\\s'-]*)",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
    private static final Pattern BARE = Pattern.compile("^\\s*([\\p{L}]+)\\s*[.!?,;]*\\s*$", Pattern.UNICODE_CASE);

    public static ParsedAnswer parse(String generated) {
        String text = generated == null ? "" : generated;
        Matcher m = PREFIXED.matcher(text);
        String label = null;
        if (m.find()) {
            label = firstWords(m.group(1));
        } else {
            Matcher b = BARE.matcher(text);
            if (b.matches()) {
                label = b.group(1).toLowerCase(Locale.ROOT);
            }
        }
        return new ParsedAnswer(text, label, label == null ? null : Emotion.fromLabel(label).orElse(null));
    }

    /** The label up to the end of its line or sentence, trimmed ("awe.\nBecause..." -> "awe"). */
    private static String firstWords(String s) {
        String t = s.split("[\\r\\n.!?,;]", 2)[0].strip().toLowerCase(Locale.ROOT);
        // one of the 8 followed by more words ("awe and wonder"): the label is the first word
        String first = t.split("\\s+", 2)[0];
        return Emotion.fromLabel(first).isPresent() ? first : t;
    }
}
