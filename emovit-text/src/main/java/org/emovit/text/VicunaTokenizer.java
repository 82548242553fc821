package org.emovit.text;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The LLaMA tokenizer as LAVIS sets it up for InstructBLIP-Vicuna (transformers' sentencepiece LlamaTokenizer,
 * legacy): "[PAD]" is added after the SentencePiece vocabulary (id 32000 for Vicuna), and bos, eos and unk are
 * all "&lt;/s&gt;" (id 2), so prompts start with 2. The special tokens written in a text ("&lt;s&gt;",
 * "&lt;/s&gt;", "&lt;unk&gt;", "[PAD]") become their ids, and the text between them is encoded piece by piece,
 * each with its own dummy prefix, as that tokenizer does: so an answer with "&lt;/s&gt;" appended ends in id 2.
 */
public final class VicunaTokenizer {
    static final String PAD = "[PAD]";

    private final SentencePieceTokenizer spm;
    private final int eos;
    private final AddedTokens added;

    private VicunaTokenizer(SentencePieceTokenizer spm, String source) {
        this.spm = spm;
        int id = spm.pieceToId("</s>");
        this.eos = id >= 0 ? id : spm.eosId();
        if (eos < 0 || eos >= spm.vocabSize()) {
            throw new TokenizerException(source + ": no </s> piece and no eos_id in the vocabulary (" + eos + ")");
        }
        List<String> specials = new ArrayList<>(List.of(PAD));
        for (int i = 0; i < spm.vocabSize(); i++) {
            if (spm.isControl(i) || i == spm.unkId()) {
                specials.add(spm.idToPiece(i));
            }
        }
        this.added = new AddedTokens(specials);
    }

    public static VicunaTokenizer load(Path tokenizerModel) {
        return new VicunaTokenizer(SentencePieceTokenizer.load(tokenizerModel), tokenizerModel.toString());
    }

    public SentencePieceTokenizer sentencePiece() {
        return spm;
    }

    public int[] encode(String text, boolean addBos) {
        List<Integer> out = new ArrayList<>();
        if (addBos) {
            out.add(eos);
        }
        for (AddedTokens.Segment s : added.split(text)) {
            if (s.added()) {
                out.add(s.text().equals(PAD) ? padId() : spm.pieceToId(s.text()));
            } else {
                for (int id : spm.encode(s.text())) {
                    out.add(id);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The text of the ids, skipping special tokens (bos/eos/unk = 2, [PAD], ids past the vocabulary), stripped
     * as LAVIS strips it (Python's whitespace).
     */
    public String decode(int[] ids) {
        int n = 0;
        int[] kept = new int[ids.length];
        for (int id : ids) {
            if (id == eos || id == padId() || id < 0 || id >= spm.vocabSize() || spm.isControl(id)) {
                continue;
            }
            kept[n++] = id;
        }
        return PythonText.strip(spm.decode(java.util.Arrays.copyOf(kept, n)));
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
