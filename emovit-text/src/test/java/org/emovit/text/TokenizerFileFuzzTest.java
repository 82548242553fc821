package org.emovit.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged tokenizer files (seeded mutations of a real SentencePiece model and a BERT vocabulary) either load and
 * encode, or are refused with one line that names the file: never another exception, never a hang.
 */
class TokenizerFileFuzzTest {
    static final List<String> SAMPLES = List.of("Predict emotion: amusement", "  a\u2028b </s> [CLS] caf\u00e9 \u4e2d\u6587 \ud83d\ude00", "");

    @Test
    void mutatedSentencePieceModelsLoadOrAreRefusedInOneLine() throws Exception {
        byte[] original = Files.readAllBytes(ReferenceEncodingsTest.resource("llama-like.model"));
        Random random = new Random(24);
        int loaded = 0, refused = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] bytes = mutate(original, random);
            try {
                SentencePieceTokenizer t = SentencePieceTokenizer.load(new ByteArrayInputStream(bytes), "case-" + i + ".model");
                for (String s : SAMPLES) {
                    int[] ids = t.encode(s);
                    for (int id : ids) {
                        assertThat(id).isBetween(0, t.vocabSize() - 1);
                    }
                    t.decode(ids);
                }
                loaded++;
            } catch (TokenizerException e) {
                assertThat(e.getMessage()).as("case %d", i).startsWith("case-" + i + ".model").doesNotContain("\n");
                refused++;
            }
        }
        System.out.printf("mutated SentencePiece models: %d loaded and encoded, %d refused in one line%n", loaded, refused);
        assertThat(loaded).isPositive();
        assertThat(refused).isPositive();
    }

    @Test
    void mutatedBertVocabulariesLoadOrAreRefusedInOneLine(@TempDir Path dir) throws Exception {
        byte[] original = Files.readAllBytes(ReferenceEncodingsTest.resource("bert-like-vocab.txt"));
        Random random = new Random(24);
        int loaded = 0, refused = 0;
        for (int i = 0; i < 500; i++) {
            Path vocab = dir.resolve("vocab-" + i + ".txt");
            Files.write(vocab, mutate(original, random));
            try {
                QFormerTokenizer t = QFormerTokenizer.load(vocab);
                for (String s : SAMPLES) {
                    t.wordPiece().decode(t.wordPiece().encode(s));
                }
                loaded++;
            } catch (TokenizerException e) {
                assertThat(e.getMessage()).contains(vocab.toString()).doesNotContain("\n");
                refused++;
            }
        }
        System.out.printf("mutated BERT vocabularies: %d loaded and encoded, %d refused in one line%n", loaded, refused);
        assertThat(loaded).isPositive();
    }

    static byte[] mutate(byte[] original, Random random) {
        byte[] b = original.clone();
        switch (random.nextInt(4)) {
            case 0 -> {   // a few random bytes
                for (int k = random.nextInt(4) + 1; k > 0; k--) {
                    b[random.nextInt(b.length)] = (byte) random.nextInt(256);
                }
            }
            case 1 -> b = java.util.Arrays.copyOf(b, random.nextInt(b.length));   // cut off
            case 2 -> {   // a varint or length byte made large
                int at = random.nextInt(b.length);
                b[at] = (byte) (0x80 | random.nextInt(128));
            }
            default -> {   // a span repeated
                int from = random.nextInt(b.length), len = Math.min(random.nextInt(64), b.length - from);
                byte[] out = new byte[b.length + len];
                System.arraycopy(b, 0, out, 0, from + len);
                System.arraycopy(b, from, out, from + len, b.length - from);
                b = out;
            }
        }
        return b;
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
