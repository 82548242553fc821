package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** /v1/emotions gives EmoVit's (that is, `emovit classify`'s) answers for the same images. */
class EmotionsEndpointTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static EmoVitServer server;

    @BeforeAll
    static void start() {
        server = Fixtures.start(ServerSettings.defaults());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static EmoVit.Result expected(String sample, EmoVit.Mode mode) {
        return Fixtures.reference().classify(List.of(Fixtures.image(sample)), mode, GenerationConfig.emovit()).get(0);
    }

    static void assertSame(JsonNode got, EmoVit.Result want) {
        assertThat(got.get("emotion").asText()).isEqualTo(want.label());
        assertThat(got.get("probabilities").size()).isEqualTo(8);
        for (Map.Entry<String, Double> e : want.probabilities().entrySet()) {
            assertThat(got.get("probabilities").get(e.getKey()).asDouble()).as(e.getKey()).isCloseTo(e.getValue(), within(1e-5));
        }
        assertThat(got.get("model").asText()).isEqualTo("emovit-tiny-random");
        assertThat(got.get("timing_ms").asLong()).isGreaterThanOrEqualTo(0);
    }

    static HttpResponse<String> multipart(String sample, String query) {
        String boundary = "----emovit" + System.nanoTime();
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + sample
                + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] image = Fixtures.bytes(sample);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[head.length + image.length + tail.length];
        System.arraycopy(head, 0, body, 0, head.length);
        System.arraycopy(image, 0, body, head.length, image.length);
        System.arraycopy(tail, 0, body, head.length + image.length, tail.length);
        return Fixtures.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/emotions" + query))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    @Test
    void multipartUploadsGiveClassifysProbabilities() throws Exception {
        for (String sample : Fixtures.samples()) {
            HttpResponse<String> r = multipart(sample, "");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertSame(JSON.readTree(r.body()), expected(sample, EmoVit.Mode.SCORE));
        }
    }

    @Test
    void jsonWithADataUrlGivesTheSame() throws Exception {
        for (String sample : Fixtures.samples()) {
            HttpResponse<String> r = Fixtures.post(server, "/v1/emotions", "{\"image\":\"" + Fixtures.dataUrl(sample) + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertSame(JSON.readTree(r.body()), expected(sample, EmoVit.Mode.SCORE));
            assertThat(JSON.readTree(r.body()).has("explanation")).isFalse();
        }
    }

    @Test
    void explainAddsClassifysExplanation() throws Exception {
        HttpResponse<String> r = multipart("photo.jpg", "?explain=true");
        JsonNode got = JSON.readTree(r.body());
        EmoVit.Result want = expected("photo.jpg", EmoVit.Mode.SCORE);
        assertSame(got, want);
        String explanation = Fixtures.reference().explain(List.of(Fixtures.image("photo.jpg")), List.of(want.label()),
                ModelScheduler.EXPLANATION).get(0);
        assertThat(got.get("explanation").asText()).isEqualTo(explanation);
    }

    @Test
    void generateModeParsesTheDecodedAnswerAsClassifyDoes() throws Exception {
        HttpResponse<String> r = Fixtures.post(server, "/v1/emotions", "{\"image\":\"" + Fixtures.dataUrl("gray.png") + "\",\"mode\":\"generate\"}");
        JsonNode got = JSON.readTree(r.body());
        EmoVit.Result want = expected("gray.png", EmoVit.Mode.GENERATE);
        assertThat(got.get("generated").asText()).isEqualTo(want.generated());
        assertThat(got.get("emotion").isNull() ? null : got.get("emotion").asText()).isEqualTo(want.label());
        assertThat(got.has("probabilities")).isFalse();
    }

    @Test
    void streamingSendsTheEmotionThenTheExplanationPieceByPiece() throws Exception {
        HttpResponse<String> r = multipart("photo.jpg", "?explain=true&stream=true");
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<JsonNode> events = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
                events.add(JSON.readTree(line.substring(6)));
            }
        }
        assertThat(r.body().strip()).endsWith("data: [DONE]");
        EmoVit.Result want = expected("photo.jpg", EmoVit.Mode.SCORE);
        assertSame(events.get(0), want);
        StringBuilder pieces = new StringBuilder();
        events.stream().filter(e -> e.has("explanation_delta")).forEach(e -> pieces.append(e.get("explanation_delta").asText()));
        JsonNode last = events.get(events.size() - 1);
        assertThat(pieces.toString()).isEqualTo(last.get("explanation").asText());
        assertThat(events.stream().filter(e -> e.has("explanation_delta")).count()).isGreaterThan(1);
    }
}
