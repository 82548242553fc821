package org.emovit.devtools.gguf;

import java.util.ArrayList;
import java.util.List;

/**
 * A SentencePiece-style ("llama") vocabulary that llama.cpp's loader accepts, for a model of random weights: the
 * three specials (&lt;unk&gt; 0, &lt;s&gt; 1, &lt;/s&gt; 2), the 256 byte tokens, the letters with and without the
 * word-start mark so that ordinary text tokenizes, then filler words up to the size asked for.
 */
public record SyntheticVocab(List<String> tokens, float[] scores, int[] types) {
    // llama_token_type values
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;
    private static final String WORD_START = "\u2581";

    /** Specials + bytes + 2 x 26 letters: the smallest vocabulary this makes. */
    public static final int MIN_SIZE = 3 + 256 + 52;

    public static SyntheticVocab of(int size) {
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("a vocabulary of " + size + " tokens is too small (at least " + MIN_SIZE + ")");
        }
        List<String> tokens = new ArrayList<>(size);
        float[] scores = new float[size];
        int[] types = new int[size];
        add(tokens, scores, types, "<unk>", 0f, UNKNOWN);
        add(tokens, scores, types, "<s>", 0f, CONTROL);
        add(tokens, scores, types, "</s>", 0f, CONTROL);
        for (int b = 0; b < 256; b++) {
            add(tokens, scores, types, String.format("<0x%02X>", b), 0f, BYTE);
        }
        for (char c = 'a'; c <= 'z'; c++) {
            add(tokens, scores, types, WORD_START + c, -1f, NORMAL);
            add(tokens, scores, types, String.valueOf(c), -1.5f, NORMAL);
        }
        for (int i = 0; tokens.size() < size; i++) {
            // filler words, each scored a little below the last (never preferred to the letters)
            add(tokens, scores, types, WORD_START + "w" + i, -10f - i * 1e-4f, NORMAL);
        }
        return new SyntheticVocab(List.copyOf(tokens), scores, types);
    }

    private static void add(List<String> tokens, float[] scores, int[] types, String token, float score, int type) {
        scores[tokens.size()] = score;
        types[tokens.size()] = type;
        tokens.add(token);
    }
}
