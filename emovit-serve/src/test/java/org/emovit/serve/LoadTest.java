package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.junit.jupiter.api.Test;

/** 200 concurrent requests, emotions and chat (some streamed): every one answered correctly, and batched. */
class LoadTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int TOKENS = 8;

    @Test
    void twoHundredConcurrentMixedRequestsAllCompleteCorrectlyInBatches() throws Exception {
        Map<String, EmoVit.Result> classes = new HashMap<>();
        Map<String, String> answers = new HashMap<>();
        for (String s : Fixtures.samples()) {
            classes.put(s, Fixtures.reference().classify(List.of(Fixtures.image(s)), EmoVit.Mode.SCORE, GenerationConfig.emovit()).get(0));
            answers.put(s, Fixtures.reference().generate(List.of(Fixtures.image(s)), List.of("Describe the mood."),
                    GenerationConfig.emovit().withMaxNewTokens(TOKENS), null).get(0).text());
        }
        try (EmoVitServer server = Fixtures.start(ServerSettings.defaults().withLimits(16, 20, 512))) {
            List<CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
            List<String> kinds = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String sample = Fixtures.samples().get(i % Fixtures.samples().size());
                String kind = i % 4 == 0 ? "chat" : i % 4 == 1 ? "stream" : "emotions";
                String body = kind.equals("emotions") ? "{\"image\":\"" + Fixtures.dataUrl(sample) + "\"}"
                        : ChatRequestJson.of(sample, TOKENS, kind.equals("stream"));
                String path = kind.equals("emotions") ? "/v1/emotions" : "/v1/chat/completions";
                kinds.add(kind + ":" + sample);
                pending.add(Fixtures.HTTP.sendAsync(HttpRequest.newBuilder(URI.create(server.url() + path))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < pending.size(); i++) {
                HttpResponse<String> r = pending.get(i).join();
                String[] k = kinds.get(i).split(":");
                assertThat(r.statusCode()).as(kinds.get(i) + " " + r.body()).isEqualTo(200);
                switch (k[0]) {
                    case "emotions" -> {
                        JsonNode n = JSON.readTree(r.body());
                        EmoVit.Result want = classes.get(k[1]);
                        assertThat(n.get("emotion").asText()).isEqualTo(want.label());
                        want.probabilities().forEach((label, p) ->
                                assertThat(n.get("probabilities").get(label).asDouble()).isCloseTo(p, within(1e-4)));
                    }
                    case "chat" -> assertThat(JSON.readTree(r.body()).at("/choices/0/message/content").asText()).isEqualTo(answers.get(k[1]));
                    default -> {
                        StringBuilder text = new StringBuilder();
                        for (String line : r.body().split("\n")) {
                            if (line.startsWith("data: {")) {
                                JsonNode c = JSON.readTree(line.substring(6)).at("/choices/0/delta/content");
                                if (c.isTextual()) {
                                    text.append(c.asText());
                                }
                            }
                        }
                        assertThat(r.body().strip()).endsWith("data: [DONE]");
                        assertThat(text.toString()).isEqualTo(answers.get(k[1]));
                    }
                }
            }
            String metrics = Fixtures.get(server, "/metrics").body();
            double sum = Fixtures.metric(metrics, "emovit_batch_size_sum"), count = Fixtures.metric(metrics, "emovit_batch_size_count");
            assertThat(sum).isEqualTo(200);
            assertThat(sum / count).as("mean batch size").isGreaterThan(1);
            assertThat(Fixtures.metric(metrics, "emovit_requests_total{endpoint=\"/v1/emotions\",status=\"200\"")).isEqualTo(100);
            assertThat(metrics).contains("emovit_request_latency_seconds_bucket", "emovit_queue_depth", "emovit_images_per_second",
                    "emovit_tokens_per_second", "emovit_batch_size_bucket");
        }
    }
}
