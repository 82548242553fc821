package org.emovit.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LAVIS's set-up of the two tokenizers around InstructBLIP-Vicuna. */
class InstructBlipTokenizersTest {

    @Test
    void vicunaSetUpStartsPromptsWithEosAndAddsPadAfterTheVocabulary() {
        VicunaTokenizer t = VicunaTokenizer.load(ReferenceEncodingsTest.resource("tiny-a-tokenizer.model"));
        int[] ids = t.encode("What emotion does this image evoke?", true);
        assertThat(ids[0]).isEqualTo(2);
        assertThat(t.bosId()).isEqualTo(2);
        assertThat(t.eosId()).isEqualTo(2);
        assertThat(t.padId()).isEqualTo(512);
        assertThat(t.vocabSize()).isEqualTo(513);
        assertThat(t.decode(ids)).isEqualTo("What emotion does this image evoke?");
        int[] withSpecials = new int[ids.length + 3];
        System.arraycopy(ids, 0, withSpecials, 0, ids.length);
        withSpecials[ids.length] = 2;
        withSpecials[ids.length + 1] = 512;
        withSpecials[ids.length + 2] = 513;
        assertThat(t.decode(withSpecials)).isEqualTo("What emotion does this image evoke?");
    }

    @Test
    void qformerTokenizerAddsDecAndTruncatesFromTheLeft() {
        QFormerTokenizer q = QFormerTokenizer.load(ReferenceEncodingsTest.resource("bert-like-vocab.txt"));
        assertThat(q.wordPiece().vocabSize()).isEqualTo(601);
        assertThat(q.wordPiece().tokenize("a [DEC] b")).containsExactly("a", "[DEC]", "b");
        int[] full = q.wordPiece().encode("the cat sat on the mat");
        QFormerTokenizer.Batch b = q.encodeBatch(List.of("the cat sat on the mat", "hi"), 5);
        assertThat(b.inputIds()[0]).containsExactly(full[0], full[full.length - 4], full[full.length - 3], full[full.length - 2],
                full[full.length - 1]);
        int[] hi = q.wordPiece().encode("hi");
        assertThat(b.inputIds()[1]).hasSize(5);
        for (int j = 0; j < 5; j++) {
            assertThat(b.attentionMask()[1][j]).isEqualTo(j < hi.length ? 1 : 0);
            assertThat(b.inputIds()[1][j]).isEqualTo(j < hi.length ? hi[j] : 0);
        }
    }

    @Test
    void notAModelFileIsNamed(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("tokenizer.model");
        Files.writeString(bad, "this is not a protobuf \u00ff\u00ff\u00ff");
        assertThatThrownBy(() -> SentencePieceTokenizer.load(bad)).isInstanceOf(TokenizerException.class)
                .hasMessageContaining(bad.toString());
        Path vocab = dir.resolve("vocab.txt");
        Files.writeString(vocab, "a\nb\n");
        assertThatThrownBy(() -> WordPieceTokenizer.load(vocab, List.of())).hasMessageContaining("vocab.txt").hasMessageContaining("[CLS]");
    }

    /** Settings whose encoding is not implemented are refused in one line, never tokenized differently in silence. */
    @Test
    void otherAlgorithmsAndNormalisersAreRefusedInOneLine() throws Exception {
        byte[] llama = Files.readAllBytes(ReferenceEncodingsTest.resource("llama-like.model"));
        // Protobuf merges a repeated message field: an appended trainer_spec {model_type: UNIGRAM} overrides the type.
        byte[] unigram = concat(llama, new byte[] {0x12, 0x02, 0x18, 0x01});
        assertThatThrownBy(() -> SentencePieceTokenizer.load(new java.io.ByteArrayInputStream(unigram), "unigram.model"))
                .isInstanceOf(TokenizerException.class).hasMessage(
                        "unigram.model: only BPE SentencePiece models (LLaMA's) are supported, this one has model_type 1 (unigram)");
        byte[] nfkc = concat(llama, new byte[] {0x1A, 0x0F, 0x0A, 0x08, 'n', 'm', 't', '_', 'n', 'f', 'k', 'c', 0x12, 0x03, 1, 2, 3});
        assertThatThrownBy(() -> SentencePieceTokenizer.load(new java.io.ByteArrayInputStream(nfkc), "nfkc.model"))
                .hasMessage("nfkc.model: its normaliser 'nmt_nfkc' rewrites text with a character map, which is not implemented"
                        + " (only 'identity' is)");
        byte[] noByteFallback = concat(llama, new byte[] {0x12, 0x03, (byte) 0x98, 0x02, 0x00});
        assertThatThrownBy(() -> SentencePieceTokenizer.load(new java.io.ByteArrayInputStream(noByteFallback), "x.model"))
                .hasMessage("x.model: it has byte pieces but byte_fallback is off");
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
