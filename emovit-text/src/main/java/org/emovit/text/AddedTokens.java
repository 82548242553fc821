package org.emovit.text;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Special tokens written in the text, as Hugging Face's tokenizers find them before the model's own algorithm
 * runs: the text is cut at each occurrence (leftmost first, the longest token where several start at the same
 * place), the tokens become their ids whole, and the pieces between are tokenized on their own.
 */
final class AddedTokens {
    record Segment(String text, boolean added) {}

    private final List<String> tokens;

    AddedTokens(List<String> tokens) {
        this.tokens = new ArrayList<>(tokens);
        this.tokens.sort(Comparator.comparingInt(String::length).reversed());
    }

    boolean contains(String token) {
        return tokens.contains(token);
    }

    /** The text cut into added tokens and the (non-empty) text between them, in order. */
    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        int at = 0, from = 0;
        while (at < text.length()) {
            String hit = null;
            for (String t : tokens) {
                if (text.startsWith(t, at)) {
                    hit = t;
                    break;
                }
            }
            if (hit == null) {
                at++;
                continue;
            }
            if (at > from) {
                out.add(new Segment(text.substring(from, at), false));
            }
            out.add(new Segment(hit, true));
            at += hit.length();
            from = at;
        }
        if (from < text.length()) {
            out.add(new Segment(text.substring(from), false));
        }
        return out;
    }
}
