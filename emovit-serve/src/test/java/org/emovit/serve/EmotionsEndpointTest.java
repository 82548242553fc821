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
import org.emovit.attribution.Attribution;
import org.emovit.attribution.PatchMap;
import org.emovit.core.Emotion;
import org.emovit.image.RgbImage;
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
        // issue 26, case 4: streamed, the explanation is decoded as unstreamed and as classify --explain decode it
        assertThat(last.get("explanation").asText()).isEqualTo(Fixtures.reference().explain(List.of(Fixtures.image("photo.jpg")),
                List.of(want.label()), ModelScheduler.EXPLANATION).get(0));
        assertThat(last.get("explanation").asText()).isEqualTo(JSON.readTree(multipart("photo.jpg", "?explain=true").body()).get("explanation").asText());
    }

    /** The grid as served, checked against Attribution's own map of the same image to 1e-6. */
    static void assertSameGrid(JsonNode heatmap, PatchMap want) {
        assertThat(heatmap.get("method").asText()).isEqualTo(want.method().label());
        assertThat(heatmap.get("emotion").asText()).isEqualTo(want.emotion().label());
        assertThat(heatmap.get("side").asInt()).isEqualTo(want.side());
        assertThat(heatmap.get("weights").size()).isEqualTo(want.side() * want.side());
        double sum = 0;
        for (int i = 0; i < want.weights().length; i++) {
            double w = heatmap.get("weights").get(i).asDouble();
            assertThat(w).as("patch " + i).isCloseTo(want.weights()[i], within(1e-6));
            sum += w;
        }
        assertThat(sum).isCloseTo(1.0, within(1e-5));
    }

    static java.awt.image.BufferedImage overlay(JsonNode heatmap) throws Exception {
        String url = heatmap.get("overlay").asText();
        assertThat(url).startsWith("data:image/png;base64,");
        return javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(
                java.util.Base64.getDecoder().decode(url.substring("data:image/png;base64,".length()))));
    }

    @Test
    void heatmapGivesAttributionsGridOfTheTopEmotionOrOfTheOneAskedForAndAnOverlay() throws Exception {
        Attribution attribution = new Attribution(Fixtures.reference());
        for (String sample : List.of("photo.jpg", "palette.gif")) {
            HttpResponse<String> r = Fixtures.post(server, "/v1/emotions", "{\"image\":\"" + Fixtures.dataUrl(sample) + "\",\"heatmap\":true}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode got = JSON.readTree(r.body());
            EmoVit.Result want = expected(sample, EmoVit.Mode.SCORE);
            assertSame(got, want);
            assertSameGrid(got.get("heatmap"), attribution.gradCam(Fixtures.image(sample), want.emotion()));
            java.awt.image.BufferedImage png = overlay(got.get("heatmap"));
            RgbImage image = Fixtures.image(sample);
            // the upload's own proportions, its longest side at most the page's size
            assertThat(Math.max(png.getWidth(), png.getHeight())).isEqualTo(Math.min(EmotionsHandler.OVERLAY_MAX_SIDE, Math.max(image.width(), image.height())));
            assertThat((double) png.getWidth() / png.getHeight()).isCloseTo((double) image.width() / image.height(), within(0.02));
        }
        // any of the 8 on request, by multipart with query parameters, and by the other method
        for (Emotion e : List.of(Emotion.FEAR, Emotion.CONTENTMENT)) {
            HttpResponse<String> r = multipart("photo.jpg", "?heatmap=true&heatmap_emotion=" + e.label());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertSameGrid(JSON.readTree(r.body()).get("heatmap"), attribution.gradCam(Fixtures.image("photo.jpg"), e));
        }
        HttpResponse<String> rollout = multipart("gray.png", "?heatmap=true&heatmap_method=rollout&heatmap_emotion=awe");
        assertThat(rollout.statusCode()).as(rollout.body()).isEqualTo(200);
        assertSameGrid(JSON.readTree(rollout.body()).get("heatmap"), attribution.rollout(Fixtures.image("gray.png"), Emotion.AWE));
    }

    @Test
    void withoutHeatmapThereIsNoneAndStreamingSendsItWithTheEmotion() throws Exception {
        HttpResponse<String> plain = multipart("photo.jpg", "");
        assertThat(JSON.readTree(plain.body()).has("heatmap")).isFalse();

        HttpResponse<String> r = multipart("photo.jpg", "?stream=true&heatmap=true&heatmap_emotion=sadness");
        String first = r.body().lines().filter(l -> l.startsWith("data: ")).findFirst().orElseThrow();
        JsonNode event = JSON.readTree(first.substring(6));
        assertThat(event.get("emotion").asText()).isEqualTo(expected("photo.jpg", EmoVit.Mode.SCORE).label());
        assertSameGrid(event.get("heatmap"), new Attribution(Fixtures.reference()).gradCam(Fixtures.image("photo.jpg"), Emotion.SADNESS));
    }

    @Test
    void badHeatmapParametersAre400sNamingTheFieldAndTheServerGoesOn() throws Exception {
        String image = "\"image\":\"" + Fixtures.dataUrl("gray.png") + "\"";
        Map<String, String> bad = Map.of(
                "{" + image + ",\"heatmap\":true,\"heatmap_emotion\":\"joy\"}", "heatmap_emotion",
                "{" + image + ",\"heatmap\":true,\"heatmap_method\":\"saliency\"}", "heatmap_method",
                "{" + image + ",\"heatmap\":\"maybe\"}", "heatmap",
                "{" + image + ",\"heatmap_emotion\":\"awe\"}", "heatmap_emotion");
        for (Map.Entry<String, String> b : bad.entrySet()) {
            HttpResponse<String> r = Fixtures.post(server, "/v1/emotions", b.getKey());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            JsonNode error = JSON.readTree(r.body()).get("error");
            assertThat(error.get("param").asText()).isEqualTo(b.getValue());
            assertThat(error.get("message").asText()).startsWith(b.getValue() + ":").doesNotContain("\n");
        }
        HttpResponse<String> ok = Fixtures.post(server, "/v1/emotions", "{" + image + ",\"heatmap\":true}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(JSON.readTree(ok.body()).get("heatmap").get("weights").size()).isGreaterThan(0);
    }

    /**
     * Issue 26, case 3: JSON "heatmap": "yes" computed a map where multipart heatmap=maybe was a 400. Yes/no options
     * are now read one way, true or false, by JSON, form and query alike; an unknown option is refused by name.
     */
    @Test
    void booleansAreReadOneWayForJsonFormAndQueryAndUnknownOptionsAreRefused() throws Exception {
        String image = "\"image\":\"" + Fixtures.dataUrl("gray.png") + "\"";
        for (String word : List.of("yes", "1", "on", "maybe")) {
            for (HttpResponse<String> r : List.of(Fixtures.post(server, "/v1/emotions", "{" + image + ",\"heatmap\":\"" + word + "\"}"),
                    multipart("gray.png", "?heatmap=" + word))) {
                assertThat(r.statusCode()).as(word + ": " + r.body()).isEqualTo(400);
                JsonNode error = JSON.readTree(r.body()).get("error");
                assertThat(error.get("param").asText()).isEqualTo("heatmap");
                assertThat(error.get("message").asText()).isEqualTo("heatmap: must be true or false, not '" + word + "'");
            }
        }
        for (String field : List.of("{" + image + ",\"explian\":true}", "{" + image + ",\"heatmap\":1}")) {
            assertThat(Fixtures.post(server, "/v1/emotions", field).statusCode()).as(field).isEqualTo(400);
        }
        HttpResponse<String> typo = multipart("gray.png", "?explian=true");
        assertThat(typo.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(typo.body()).get("error").get("param").asText()).isEqualTo("explian");
        for (HttpResponse<String> r : List.of(Fixtures.post(server, "/v1/emotions", "{" + image + ",\"heatmap\":\"TRUE\"}"),
                Fixtures.post(server, "/v1/emotions", "{" + image + ",\"heatmap\":true}"), multipart("gray.png", "?heatmap=true"))) {
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).get("heatmap").get("weights").size()).isGreaterThan(0);
        }
        HttpResponse<String> off = multipart("gray.png", "?heatmap=false");
        assertThat(JSON.readTree(off.body()).has("heatmap")).isFalse();
    }
}
