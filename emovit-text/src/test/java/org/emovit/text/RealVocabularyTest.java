package org.emovit.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tokenizers on the vocabularies users load (LLaMA's tokenizer.model, bert-base-uncased's vocab.txt), against
 * ids the Python implementations gave for 59,000 strings (tools/tokenizer-reference/make_reference.py: English
 * words and sentences, captions, instructions and answers, the project's prompts, digits, punctuation, whitespace
 * runs, accents, combining marks, CJK, emoji and ZWJ sequences, control characters, special tokens written in
 * the text, random Unicode). Each comparison reports how many strings are identical and the first differences.
 */
class RealVocabularyTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<JsonNode> REFERENCE = new ArrayList<>();
    static SentencePieceTokenizer spm;
    static VicunaTokenizer vicuna;
    static QFormerTokenizer qformer;

    @BeforeAll
    static void load() throws IOException {
        if (REFERENCE.isEmpty()) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(
                    new GZIPInputStream(Files.newInputStream(ReferenceEncodingsTest.resource("real-vocab-reference.jsonl.gz"))),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    REFERENCE.add(JSON.readTree(line));
                }
            }
        }
        spm = SentencePieceTokenizer.load(ReferenceEncodingsTest.resource("llama-tokenizer.model"));
        vicuna = VicunaTokenizer.load(ReferenceEncodingsTest.resource("llama-tokenizer.model"));
        qformer = QFormerTokenizer.load(ReferenceEncodingsTest.resource("bert-base-uncased-vocab.txt"));
    }

    @Test
    void theReferenceCoversFiftyThousandStrings() {
        assertThat(REFERENCE).hasSizeGreaterThanOrEqualTo(50_000);
    }

    @Test
    void sentencePieceIdsAsSentencepiece() {
        assertAllIdentical("sentencepiece ids", r -> Arrays.toString(ids(r.get("sp"))),
                r -> Arrays.toString(spm.encode(r.get("text").asText())));
    }

    @Test
    void sentencePieceDecodingAsSentencepiece() {
        assertAllIdentical("sentencepiece decoding", r -> r.get("spdec").asText(), r -> spm.decode(ids(r.get("sp"))));
    }

    @Test
    void vicunaDecodingAsLavis() {
        assertAllIdentical("Vicuna decoding (special tokens skipped, str.strip())",
                r -> (r.has("lavisdec") ? r.get("lavisdec") : r.get("spdec")).asText(), r -> {
                    int[] sp = ids(r.get("sp"));
                    int[] withSpecials = new int[sp.length + 3];
                    withSpecials[0] = 2;
                    System.arraycopy(sp, 0, withSpecials, 1, sp.length);
                    withSpecials[sp.length + 1] = vicuna.padId();
                    withSpecials[sp.length + 2] = 2;
                    return vicuna.decode(withSpecials);
                });
    }

    @Test
    void vicunaPromptIdsAsLavisLlamaTokenizer() {
        assertAllIdentical("Vicuna (LAVIS LlamaTokenizer) ids", r -> Arrays.toString(ids(r.has("vicuna") ? r.get("vicuna") : r.get("sp"))),
                r -> {
                    int[] withBos = vicuna.encode(r.get("text").asText(), true);
                    assertThat(withBos[0]).isEqualTo(2);
                    return Arrays.toString(Arrays.copyOfRange(withBos, 1, withBos.length));
                });
    }

    @Test
    void bertIdsAsBertTokenizer() {
        assertAllIdentical("Q-Former (BertTokenizer) ids", r -> Arrays.toString(ids(r.get("bert"))),
                r -> Arrays.toString(qformer.wordPiece().encode(r.get("text").asText())));
    }

    /** The same strings (every 12th) on LLaMA's pieces with other settings a SentencePiece BPE model may have. */
    @Test
    void otherSentencePieceSettingsAsSentencepiece() throws IOException {
        JsonNode variants;
        try (var in = new GZIPInputStream(Files.newInputStream(ReferenceEncodingsTest.resource("llama-variants-reference.json.gz")))) {
            variants = JSON.readTree(in);
        }
        assertThat(variants.size()).isEqualTo(3);
        for (var it = variants.fields(); it.hasNext(); ) {
            var variant = it.next();
            SentencePieceTokenizer model;
            try (var in = new GZIPInputStream(Files.newInputStream(ReferenceEncodingsTest.resource("llama-" + variant.getKey() + ".model.gz")))) {
                model = SentencePieceTokenizer.load(in, variant.getKey());
            }
            List<JsonNode> records = new ArrayList<>();
            variant.getValue().forEach(records::add);
            assertThat(records).hasSizeGreaterThan(4000);
            assertAllIdentical(records, "sentencepiece ids, " + variant.getKey(), r -> Arrays.toString(ids(r.get("sp"))),
                    r -> Arrays.toString(model.encode(r.get("text").asText())));
        }
    }

    /**
     * Where transformers' Python BertTokenizer and the tokenizers library's disagree, this project follows the
     * Python one (LAVIS's): each such string holds a code point of bert-python-disagreements.txt (mostly
     * unassigned in Python's Unicode 14, some assigned after it), listed there with its category.
     */
    @Test
    void thePythonBertImplementationsDisagreeOnlyOnListedCodePoints() throws IOException {
        java.util.Set<Integer> listed = new java.util.TreeSet<>();
        java.util.Map<String, Integer> categories = new java.util.TreeMap<>();
        for (String line : Files.readAllLines(ReferenceEncodingsTest.resource("bert-python-disagreements.txt"))) {
            if (!line.startsWith("#")) {
                String[] f = line.split(" ");
                listed.add(Integer.parseInt(f[0], 16));
                categories.merge(f[1], 1, Integer::sum);
            }
        }
        int disagreeing = 0;
        for (JsonNode r : REFERENCE) {
            if (r.has("bertfast")) {
                disagreeing++;
                assertThat(r.get("text").asText().codePoints().anyMatch(listed::contains))
                        .as("a disagreement without a listed code point: %s", escape(r.get("text").asText())).isTrue();
            }
        }
        System.out.printf("BertTokenizer, Python against tokenizers library: %d of %d strings differ, all through %d listed code"
                + " points %s, e.g. %s%n", disagreeing, REFERENCE.size(), listed.size(), categories,
                listed.stream().limit(12).map(cp -> String.format("U+%04X", cp)).toList());
        assertThat(disagreeing).isPositive();
    }

    static int[] ids(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    static void assertAllIdentical(String what, Function<JsonNode, String> expected, Function<JsonNode, String> actual) {
        assertAllIdentical(REFERENCE, what, expected, actual);
    }

    static void assertAllIdentical(List<JsonNode> records, String what, Function<JsonNode, String> expected,
            Function<JsonNode, String> actual) {
        int identical = 0;
        List<String> differences = new ArrayList<>();
        for (JsonNode r : records) {
            String want = expected.apply(r), got;
            try {
                got = actual.apply(r);
            } catch (RuntimeException e) {
                got = e.toString();
            }
            if (want.equals(got)) {
                identical++;
            } else if (differences.size() < 12) {
                differences.add(escape(r.get("text").asText()) + "\n    expected " + want + "\n    got      " + got);
            }
        }
        System.out.printf("%s: %d of %d strings identical%n", what, identical, records.size());
        differences.forEach(d -> System.out.println("  " + d));
        assertThat(identical).as(what + ": identical strings; first differences:\n" + String.join("\n", differences))
                .isEqualTo(records.size());
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7f) {
                sb.appendCodePoint(cp);
            } else {
                sb.append(String.format(cp > 0xffff ? "\\U%08x" : "\\u%04x", cp));
            }
        });
        return sb.append('"').toString();
    }
}
