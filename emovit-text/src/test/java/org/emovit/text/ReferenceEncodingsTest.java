package org.emovit.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every sample of the reference encodings (sentencepiece 0.2 and HF tokenizers 0.23), exactly. */
class ReferenceEncodingsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path resource(String name) {
        try {
            return Paths.get(ReferenceEncodingsTest.class.getClassLoader().getResource("tokenizers/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode encodings() throws IOException {
        return JSON.readTree(resource("encodings.json").toFile());
    }

    static Stream<Arguments> sentencePieceSamples() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode s : encodings().get("sentencepiece")) {
            out.add(Arguments.of(s.get("text").asText(), s));
        }
        return out.stream();
    }

    static Stream<Arguments> wordPieceSamples() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode s : encodings().get("wordpiece")) {
            out.add(Arguments.of(s.get("text").asText(), s));
        }
        return out.stream();
    }

    static final SentencePieceTokenizer SPM = SentencePieceTokenizer.load(resource("llama-like.model"));
    static final WordPieceTokenizer WORDPIECE = WordPieceTokenizer.load(resource("bert-like-vocab.txt"), List.of("[DEC]"));

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("sentencePieceSamples")
    void sentencePieceIdsPiecesAndDecoding(String text, JsonNode expected) {
        int[] ids = SPM.encode(text);
        assertThat(ids).containsExactly(JSON.convertValue(expected.get("ids"), int[].class));
        List<String> pieces = new ArrayList<>();
        expected.get("pieces").forEach(p -> pieces.add(p.asText()));
        assertThat(SPM.encodeAsPieces(text)).containsExactlyElementsOf(pieces);
        assertThat(SPM.decode(ids)).isEqualTo(expected.get("decoded").asText());
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("wordPieceSamples")
    void wordPieceIdsAndTokens(String text, JsonNode expected) {
        assertThat(WORDPIECE.encode(text)).containsExactly(JSON.convertValue(expected.get("ids"), int[].class));
        List<String> tokens = new ArrayList<>();
        expected.get("tokens").forEach(t -> tokens.add(t.asText()));
        assertThat(tokens.subList(1, tokens.size() - 1)).containsExactlyElementsOf(WORDPIECE.tokenize(text));
    }
}
