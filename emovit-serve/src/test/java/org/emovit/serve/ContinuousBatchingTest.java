package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.junit.jupiter.api.Test;

/** A short chat completion sent while a long one runs joins it and is answered first, each answer as given alone. */
class ContinuousBatchingTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String SAMPLE = "photo.jpg";
    /**
     * The long answer's tokens: the longest the tiny model gives to {@link #LONG_QUESTION} (its answer ends there), four
     * times the 60 tokens that a loaded CI machine once decoded before the short request arrived.
     */
    static final int LONG = 240;
    static final int SHORT = 3;

    /** The question of the long answers: the tiny model answers it without an end of sequence for well over LONG tokens. */
    static final String LONG_QUESTION = "Describe the image.";
    static final String SHORT_QUESTION = "Describe the mood.";

    static EmoVit.Answer alone(String question, int maxTokens) {
        return Fixtures.reference().generate(List.of(Fixtures.image(SAMPLE)), List.of(question),
                GenerationConfig.emovit().withMaxNewTokens(maxTokens), null).get(0);
    }

    static HttpRequest chat(EmoVitServer server, String question, int maxTokens, boolean stream) {
        return HttpRequest.newBuilder(URI.create(server.url() + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(ChatRequestJson.of(SAMPLE, question, maxTokens, stream))).build();
    }

    @Test
    void aShortCompletionSentAfterALongOneStartedFinishesFirst() throws Exception {
        EmoVit.Answer longWant = alone(LONG_QUESTION, LONG), shortWant = alone(SHORT_QUESTION, SHORT);
        assertThat(longWant.tokens()).as("the long answer runs its full length").hasSize(LONG);
        try (EmoVitServer server = Fixtures.start(ServerSettings.defaults())) {
            Beside shortOne = besideTheLongStream(server, () -> Fixtures.send(chat(server, SHORT_QUESTION, SHORT, false)));

            assertThat(shortOne.response().statusCode()).isEqualTo(200);
            assertThat(parse(shortOne.response().body()).at("/choices/0/message/content").asText()).isEqualTo(shortWant.text());
            long longDone = shortOne.streamedInFull(longWant, "the long completion is still running when the short one is answered");
            assertThat(longDone).isGreaterThan(shortOne.answeredAt());
            System.out.printf(java.util.Locale.ROOT, "the long answer ended %.1f ms after the short one%n", (longDone - shortOne.answeredAt()) / 1e6);
            String metrics = Fixtures.get(server, "/metrics").body();
            assertThat(Fixtures.metric(metrics, "emovit_batch_size_sum")).as("each request prefilled once").isEqualTo(2);
            assertThat(Fixtures.metric(metrics, "emovit_decode_rows_max")).as("a decoding step advanced both rows").isEqualTo(2);
            assertThat(Fixtures.metric(metrics, "emovit_decode_rows_sum")).as("one row-step per token")
                    .isEqualTo(LONG + SHORT);
            assertThat(Fixtures.metric(metrics, "emovit_generated_tokens_total")).isEqualTo(LONG + SHORT);
        }
    }

    @Test
    void aClassificationSentWhileAGenerationRunsIsAnsweredBeforeItEnds() throws Exception {
        EmoVit.Answer longWant = alone(LONG_QUESTION, LONG);
        EmoVit.Result classWant = Fixtures.reference().classify(List.of(Fixtures.image(SAMPLE)), EmoVit.Mode.SCORE,
                GenerationConfig.emovit()).get(0);
        try (EmoVitServer server = Fixtures.start(ServerSettings.defaults())) {
            String image = "{\"image\":\"" + Fixtures.dataUrl(SAMPLE) + "\"}";   // built and sent once first, as below
            assertThat(Fixtures.post(server, "/v1/emotions", image).statusCode()).isEqualTo(200);
            Beside classified = besideTheLongStream(server, () -> Fixtures.post(server, "/v1/emotions", image));

            assertThat(classified.response().statusCode()).isEqualTo(200);
            assertThat(parse(classified.response().body()).get("emotion").asText()).isEqualTo(classWant.label());
            classified.streamedInFull(longWant, "the generation is still running when the classification is answered");
        }
    }

    /**
     * An explained classification sent while a long generation streams: its explanation is a generation that joins
     * the running batch, so the long stream keeps getting tokens while it is decoded (the old scheduler decoded the
     * whole explanation between two of the stream's tokens), and the answer is the one `classify --explain` gives.
     * The order is fixed, not raced: with max-batch 2 and a minute's max-wait nothing starts until two generations
     * wait, so the stream and then the classification are seen queued (the server's queue depth) before a 3-token
     * chat completion completes the batch; the classification then runs at the first token boundary and its
     * explanation joins when the short answer leaves. The server's own counts say what overlapped.
     */
    @Test
    void theStreamKeepsFlowingWhileAnExplainedClassificationIsAnswered() throws Exception {
        int streamed = 240;
        String question = "Describe the image.";
        EmoVit.Answer streamWant = Fixtures.reference().generate(List.of(Fixtures.image(SAMPLE)), List.of(question),
                GenerationConfig.emovit().withMaxNewTokens(streamed), null).get(0);
        assertThat(streamWant.tokens()).as("the stream runs its full length").hasSize(streamed);
        EmoVit.Answer shortWant = alone(SHORT_QUESTION, SHORT);
        EmoVit.Result classWant = Fixtures.reference().classify(List.of(Fixtures.image(SAMPLE)), EmoVit.Mode.SCORE,
                GenerationConfig.emovit()).get(0);
        String explanationWant = Fixtures.reference().explain(List.of(Fixtures.image(SAMPLE)), List.of(classWant.label()),
                ModelScheduler.EXPLANATION).get(0);
        int explanationTokens = Fixtures.reference().generate(List.of(Fixtures.image(SAMPLE)),
                List.of(org.emovit.core.Prompts.explanationQuestion(classWant.label())), ModelScheduler.EXPLANATION, null).get(0).tokens().length;
        assertThat(explanationTokens).as("an explanation long enough to see the stream flow").isGreaterThanOrEqualTo(8);
        assertThat(SHORT + explanationTokens).as("the explanation ends before the stream").isLessThan(streamed);

        try (EmoVitServer server = Fixtures.start(ServerSettings.defaults().withLimits(2, 60_000, 16))) {
            StringBuilder streamText = new StringBuilder();
            CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> stream = Fixtures.HTTP.sendAsync(
                    HttpRequest.newBuilder(URI.create(server.url() + "/v1/chat/completions"))
                            .POST(HttpRequest.BodyPublishers.ofString(ChatRequestJson.of(SAMPLE, question, streamed, true))).build(),
                    HttpResponse.BodyHandlers.ofLines());
            awaitQueueDepth(server, 1);   // the stream waits for a second generation
            String image = "{\"image\":\"" + Fixtures.dataUrl(SAMPLE) + "\"}";
            CompletableFuture<HttpResponse<String>> classified = Fixtures.HTTP.sendAsync(
                    HttpRequest.newBuilder(URI.create(server.url() + "/v1/emotions?explain=true")).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(image)).build(), HttpResponse.BodyHandlers.ofString());
            awaitQueueDepth(server, 2);   // the classification waits behind it
            HttpResponse<String> shortResponse = Fixtures.send(chat(server, SHORT_QUESTION, SHORT, false));   // completes the batch

            assertThat(shortResponse.statusCode()).isEqualTo(200);
            assertThat(parse(shortResponse.body()).at("/choices/0/message/content").asText()).isEqualTo(shortWant.text());
            HttpResponse<String> answer = classified.get(60, TimeUnit.SECONDS);
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            JsonNode body = parse(answer.body());
            assertThat(body.get("emotion").asText()).isEqualTo(classWant.label());
            assertThat(body.get("explanation").asText()).isEqualTo(explanationWant);
            try (Stream<String> lines = stream.get(60, TimeUnit.SECONDS).body()) {
                lines.filter(l -> l.startsWith("data: {")).forEach(l -> {
                    JsonNode c = parse(l.substring(6)).at("/choices/0/delta/content");
                    streamText.append(c.isTextual() ? c.asText() : "");
                });
            }
            assertThat(streamText.toString()).isEqualTo(streamWant.text());

            String metrics = Fixtures.get(server, "/metrics").body();
            System.out.printf(java.util.Locale.ROOT, "server: %d decoding steps, %d row-steps (stream %d + short %d + explanation %d), "
                            + "at most %d rows a step, at most %d pass(es) a gap%n", (long) Fixtures.metric(metrics, "emovit_decode_rows_count"),
                    (long) Fixtures.metric(metrics, "emovit_decode_rows_sum"), streamed, SHORT, explanationTokens,
                    (long) Fixtures.metric(metrics, "emovit_decode_rows_max"), (long) Fixtures.metric(metrics, "emovit_decode_gap_passes_max"));
            assertThat(Fixtures.metric(metrics, "emovit_decode_rows_count")).as("decoding steps: the stream's, each shared or not")
                    .isEqualTo(streamed);
            assertThat(Fixtures.metric(metrics, "emovit_decode_rows_sum")).as("row-steps: the stream, the short answer, the %d-token "
                    + "explanation, every one of them in a step of the stream's", explanationTokens).isEqualTo(streamed + SHORT + explanationTokens);
            assertThat(Fixtures.metric(metrics, "emovit_decode_rows_max")).as("rows in one step").isEqualTo(2);
            assertThat(Fixtures.metric(metrics, "emovit_batch_latency_seconds_count{kind=\"classify\"")).as("classification passes").isEqualTo(1);
            assertThat(Fixtures.metric(metrics, "emovit_decode_gap_passes_max")).as("passes in one gap between two steps").isEqualTo(1);
        }
    }

    /** Waits until this many requests wait for the model, as the server's /metrics says (at most 60 s). */
    static void awaitQueueDepth(EmoVitServer server, int depth) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        double seen;
        while ((seen = Fixtures.metric(Fixtures.get(server, "/metrics").body(), "emovit_queue_depth")) != depth) {
            assertThat(System.nanoTime() - end).as("queue depth %d, waiting for %d", (long) seen, depth).isNegative();
            Thread.sleep(5);
        }
    }

    /** As below, for any request, recording when each chunk of text arrived. */
    static CompletableFuture<Long> startStreaming(EmoVitServer server, HttpRequest request, StringBuilder text, java.util.List<Long> arrivals)
            throws InterruptedException {
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Long> done = Fixtures.HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofLines())
                .thenApply(r -> {
                    try (Stream<String> lines = r.body()) {
                        lines.filter(l -> l.startsWith("data: {")).forEach(l -> {
                            JsonNode c = parse(l.substring(6)).at("/choices/0/delta/content");
                            if (c.isTextual() && !c.asText().isEmpty()) {
                                arrivals.add(System.nanoTime());
                                text.append(c.asText());
                                started.countDown();
                            }
                        });
                    }
                    return System.nanoTime();
                });
        assertThat(started.await(60, TimeUnit.SECONDS)).as("the long completion started").isTrue();
        return done;
    }

    /**
     * A request answered while the long completion streamed: its response, when it came, whether the stream was still
     * running then, and the stream itself.
     */
    record Beside(HttpResponse<String> response, long answeredAt, boolean streamRunning, CompletableFuture<Long> streamEnd,
                  StringBuilder streamText) {
        /** Waits for the stream, checks it got the whole answer and was running when this request was answered; its end. */
        long streamedInFull(EmoVit.Answer want, String runningWhy) throws Exception {
            long end = streamEnd.get(60, TimeUnit.SECONDS);
            assertThat(streamText.toString()).isEqualTo(want.text());
            assertThat(streamRunning).as(runningWhy).isTrue();
            return end;
        }
    }

    /** Starts the long stream, then sends a request beside it and waits for its response. */
    static Beside besideTheLongStream(EmoVitServer server, java.util.concurrent.Callable<HttpResponse<String>> request) throws Exception {
        StringBuilder text = new StringBuilder();
        CompletableFuture<Long> end = startStreaming(server, text);
        HttpResponse<String> response = request.call();
        long answeredAt = System.nanoTime();
        return new Beside(response, answeredAt, !end.isDone(), end, text);
    }

    /**
     * Sends the long completion, streamed, and returns once its first text has come (its batch is running); the
     * future completes with the time its stream ended.
     */
    static CompletableFuture<Long> startStreaming(EmoVitServer server, StringBuilder text) throws InterruptedException {
        return startStreaming(server, chat(server, LONG_QUESTION, LONG, true), text, new java.util.ArrayList<>());
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
