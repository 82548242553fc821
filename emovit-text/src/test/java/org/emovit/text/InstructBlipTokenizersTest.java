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
}
