package org.emovit.text;

import java.nio.file.Path;
import java.util.List;

/**
 * The InstructBLIP Q-Former tokenizer: BERT uncased WordPiece with "[DEC]" added; LAVIS truncates from the
 * left (keeping [CLS] and [SEP]) and pads a batch to its longest row with 0 and attention mask 0.
 */
public final class QFormerTokenizer {
    private final WordPieceTokenizer wordPiece;

    private QFormerTokenizer(WordPieceTokenizer wordPiece) {
        this.wordPiece = wordPiece;
    }

    public static QFormerTokenizer load(Path vocabTxt) {
        return new QFormerTokenizer(WordPieceTokenizer.load(vocabTxt, List.of("[DEC]")));
    }

    public WordPieceTokenizer wordPiece() {
        return wordPiece;
    }

    public record Batch(long[][] inputIds, long[][] attentionMask) {}

    public Batch encodeBatch(List<String> texts, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must leave room for [CLS] and [SEP]: " + maxLength);
        }
        int[][] rows = new int[texts.size()][];
        int longest = 0;
        for (int i = 0; i < rows.length; i++) {
            int[] ids = wordPiece.encode(texts.get(i));
            if (ids.length > maxLength) {
                int[] kept = new int[maxLength];
                kept[0] = ids[0];
                System.arraycopy(ids, ids.length - maxLength + 1, kept, 1, maxLength - 1);
                ids = kept;
            }
            rows[i] = ids;
            longest = Math.max(longest, ids.length);
        }
        long[][] ids = new long[rows.length][longest];
        long[][] mask = new long[rows.length][longest];
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < longest; j++) {
                ids[i][j] = j < rows[i].length ? rows[i][j] : wordPiece.padId();
                mask[i][j] = j < rows[i].length ? 1 : 0;
            }
        }
        return new Batch(ids, mask);
    }
}
