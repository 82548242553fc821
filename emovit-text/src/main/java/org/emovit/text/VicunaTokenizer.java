package org.emovit.text;

import java.nio.file.Path;

/**
 * The LLaMA tokenizer as LAVIS sets it up for InstructBLIP-Vicuna: "[PAD]" is added after the SentencePiece
 * vocabulary (id 32000 for Vicuna), and bos, eos and unk are all "&lt;/s&gt;" (id 2), so prompts start with 2.
 */
public final class VicunaTokenizer {
    private final SentencePieceTokenizer spm;
    private final int eos;

    private VicunaTokenizer(SentencePieceTokenizer spm) {
        this.spm = spm;
        int id = spm.pieceToId("</s>");
        this.eos = id >= 0 ? id : spm.eosId();
    }

    public static VicunaTokenizer load(Path tokenizerModel) {
        return new VicunaTokenizer(SentencePieceTokenizer.load(tokenizerModel));
    }

    public SentencePieceTokenizer sentencePiece() {
        return spm;
    }

    public int[] encode(String text, boolean addBos) {
        int[] ids = spm.encode(text);
        if (!addBos) {
            return ids;
        }
        int[] out = new int[ids.length + 1];
        out[0] = eos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** The text of the ids, skipping special tokens (bos/eos/unk = 2, [PAD], ids past the vocabulary), stripped. */
    public String decode(int[] ids) {
        int n = 0;
        int[] kept = new int[ids.length];
        for (int id : ids) {
            if (id == eos || id == padId() || id < 0 || id >= spm.vocabSize() || spm.isControl(id)) {
                continue;
            }
            kept[n++] = id;
        }
        return spm.decode(java.util.Arrays.copyOf(kept, n)).strip();
    }

    public int bosId() {
        return eos;
    }

    public int eosId() {
        return eos;
    }

    public int padId() {
        return spm.vocabSize();
    }

    /** Vocabulary size including "[PAD]". */
    public int vocabSize() {
        return spm.vocabSize() + 1;
    }
}
