package org.emovit.data;

import org.emovit.data.pipeline.DataPipeline;
import com.fasterxml.jackson.databind.JsonNode;
import org.emovit.core.JsonlFile;
import org.emovit.data.llm.GenerateStage;
import org.emovit.data.InstructionKind;
import org.emovit.data.llm.LlmOptions;
import org.emovit.data.llm.SystemPrompts;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The generate stage against a real local OpenAI-compatible HTTP server that fails on demand. */
class GenerateStageTest {

    @TempDir
    Path tmp;
    DataPipeline pipeline;
    TestSets.Made made;
    /** Images of the train split with cap-anno text (32 selected minus the malformed one and the missing one). */
    static final int WITH_TEXT = 30;
    /**
     * Long enough that a reply the fake server sends at once is never timed out on a loaded machine (at 250 ms, a
     * 2-core machine at load 5 timed some out and paid for them twice), short of the 3 s a hung request waits.
     */
    static final Duration REQUEST_TIMEOUT = Duration.ofMillis(1000);

    @BeforeAll
    static void warmUp() throws Exception {
        // first use of the SDK loads many classes; keep that out of the request timeouts below
        FakeOpenAiServer.warmUpClient();
    }

    @BeforeEach
    void setUp() throws IOException {
        made = TestSets.emoSet(tmp.resolve("emoset"), 4);
        pipeline = DataPipeline.of(made.root(), tmp.resolve("work"), null);
        pipeline.caption(p -> "a photo of " + p.getFileName(), new CaptionStage.Options(selection(), 1, true));
        pipeline.capAnno(selection());
    }

    static Selection selection() {
        return new Selection("train", 0, 4, EnumSet.allOf(Emotion.class));
    }

    static LlmOptions options(FakeOpenAiServer s) {
        return LlmOptions.fromEnv(Map.of()).withBaseUrl(s.baseUrl()).withApiKey("sk-test").withModel("test-model")
                .withConcurrency(4).withMaxAttempts(15).withBackoff(Duration.ofMillis(1), Duration.ofMillis(20))
                .withRequestTimeout(REQUEST_TIMEOUT).withJitterSeed(7L);
    }

    GenerateStage.Options generateOptions(FakeOpenAiServer s) {
        return GenerateStage.Options.of(InstructionKind.CONVERSATION, options(s)).withSelection(selection());
    }

    List<JsonNode> records(InstructionKind k) throws IOException {
        JsonlFile.Contents<com.fasterxml.jackson.databind.JsonNode> c = JsonlFile.read(pipeline.workDir().replies(k));
        assertThat(c.problems()).isEmpty();
        return c.records();
    }

    static void assertOneRecordPerImage(List<JsonNode> records, int expected) {
        Set<String> keys = new HashSet<>();
        for (JsonNode r : records) {
            assertThat(keys.add(r.get("key").asText())).as("duplicate record for " + r.get("key")).isTrue();
        }
        assertThat(keys).hasSize(expected);
    }

    static void assertNoImagePaidTwice(FakeOpenAiServer s) {
        s.answeredByUser.forEach((user, n) -> assertThat(n.get()).as("paid answers for " + user.lines().findFirst().orElse(""))
                .isEqualTo(1));
    }

    @Test
    void withThirtyPercentFailuresEveryImageEndsWithExactlyOneReplyAndTheCountsAddUp() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            s.plan = FakeOpenAiServer.FaultPlan.random(11, 0.3);
            GenerateStage.Report r = pipeline.generate(generateOptions(s));

            assertThat(r.stopped()).isEqualTo(GenerateStage.StopReason.NONE);
            assertThat(r.selected()).isEqualTo(32);
            assertThat(r.skipped()).isEqualTo(2);
            assertThat(r.issues()).anyMatch(i -> made.malformedKey().equals(i.item()))
                    .anyMatch(i -> made.missingImageKey().equals(i.item()));
            assertThat(r.failed()).isZero();
            assertThat(r.complete()).isTrue();
            assertThat(r.answeredByServer()).isEqualTo(WITH_TEXT);

            // every HTTP request is accounted for, by outcome
            int faults = s.faultCount(FakeOpenAiServer.Fault.RATE_LIMIT) + s.faultCount(FakeOpenAiServer.Fault.SERVER_ERROR)
                    + s.faultCount(FakeOpenAiServer.Fault.HANG) + s.faultCount(FakeOpenAiServer.Fault.MALFORMED);
            assertThat(faults).as("injected faults").isGreaterThan(5);
            assertThat(r.requests()).isEqualTo(s.requests.get()).isEqualTo(WITH_TEXT + faults);
            assertThat(r.requests()).isEqualTo(r.answeredByServer() + r.failedRequests());
            assertThat(r.retries()).isEqualTo(faults);
            assertThat(r.failedRequestsByKind()).containsEntry("RATE_LIMITED", (long) s.faultCount(FakeOpenAiServer.Fault.RATE_LIMIT))
                    .containsEntry("SERVER_ERROR", (long) s.faultCount(FakeOpenAiServer.Fault.SERVER_ERROR))
                    .containsEntry("TIMEOUT", (long) s.faultCount(FakeOpenAiServer.Fault.HANG))
                    .containsEntry("MALFORMED_RESPONSE", (long) s.faultCount(FakeOpenAiServer.Fault.MALFORMED));
            assertThat(s.successes.get()).isEqualTo(WITH_TEXT);

            // cost log: one line per request, tokens as the server counted them
            List<JsonNode> cost = JsonlFile.read(pipeline.workDir().costLog(InstructionKind.CONVERSATION)).records();
            assertThat(cost).hasSize((int) r.requests());
            assertThat(cost.stream().filter(c -> c.get("outcome").asText().equals("ok")).count()).isEqualTo(WITH_TEXT);
            assertThat(cost.stream().mapToLong(c -> c.get("prompt_tokens").asLong()).sum())
                    .isEqualTo(s.promptTokens.get()).isEqualTo(r.promptTokens());
            assertThat(cost.stream().mapToLong(c -> c.get("completion_tokens").asLong()).sum())
                    .isEqualTo(s.completionTokens.get()).isEqualTo(r.completionTokens());

            // exactly one reply per image, in the JSONL and as the seed's text file
            List<JsonNode> recs = records(InstructionKind.CONVERSATION);
            assertOneRecordPerImage(recs, WITH_TEXT);
            assertNoImagePaidTwice(s);
            for (JsonNode rec : recs) {
                Path txt = pipeline.workDir().root().resolve("conversation").resolve(rec.get("emotion").asText())
                        .resolve(rec.get("name").asText() + ".txt");
                assertThat(Files.readString(txt)).isEqualTo(rec.get("response").asText());
                String user = Files.readString(pipeline.workDir().root().resolve("cap-ano")
                        .resolve(rec.get("emotion").asText()).resolve(rec.get("name").asText() + ".txt"));
                assertThat(rec.get("response").asText()).isEqualTo(FakeOpenAiServer.defaultReply(user));
            }

            // a rerun has nothing to do and pays nothing
            int before = s.requests.get();
            GenerateStage.Report again = pipeline.generate(generateOptions(s));
            assertThat(again.alreadyDone()).isEqualTo(WITH_TEXT);
            assertThat(again.requests()).isZero();
            assertThat(s.requests.get()).isEqualTo(before);
            assertOneRecordPerImage(records(InstructionKind.CONVERSATION), WITH_TEXT);
        }
    }

    @Test
    void budgetStopThenCrashDamageThenRestartFinishesWithoutDuplicatesOrRepaidRequests() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            s.plan = FakeOpenAiServer.FaultPlan.random(5, 0.3);
            GenerateStage.Report first = pipeline.generate(generateOptions(s).withLlm(options(s).withBudget(12, Long.MAX_VALUE)));
            assertThat(first.stopped()).isEqualTo(GenerateStage.StopReason.BUDGET);
            assertThat(first.requests()).isEqualTo(12).isEqualTo(s.requests.get());
            assertThat(first.notStarted()).isPositive();
            assertThat(first.complete()).isFalse();
            int paidInFirst = s.successes.get();
            assertThat(records(InstructionKind.CONVERSATION)).hasSize(paidInFirst);
            assertThat(paidInFirst).isBetween(2, 12);

            // simulate a crash after the cache was written but before the record was appended, for the last two
            // images, and a record cut off mid-write
            Path out = pipeline.workDir().replies(InstructionKind.CONVERSATION);
            List<String> lines = new ArrayList<>(Files.readAllLines(out));
            String cutKey1 = lines.get(lines.size() - 1);
            lines.remove(lines.size() - 1);
            lines.remove(lines.size() - 1);
            Files.write(out, lines);
            Files.writeString(out, cutKey1.substring(0, cutKey1.length() / 2), StandardOpenOption.APPEND);

            s.plan = FakeOpenAiServer.FaultPlan.random(6, 0.3);
            GenerateStage.Report second = pipeline.generate(generateOptions(s));
            assertThat(second.stopped()).isEqualTo(GenerateStage.StopReason.NONE);
            assertThat(second.complete()).isTrue();
            assertThat(second.alreadyDone()).isEqualTo(paidInFirst - 2);
            assertThat(second.cacheHits()).isEqualTo(2);
            assertThat(second.answeredByServer()).isEqualTo(WITH_TEXT - paidInFirst);
            assertThat(second.issues()).anyMatch(i -> i.reason().contains("unterminated last line"));

            assertOneRecordPerImage(records(InstructionKind.CONVERSATION), WITH_TEXT);
            assertNoImagePaidTwice(s);
            assertThat(s.successes.get()).isEqualTo(WITH_TEXT);
            assertThat(first.requests() + second.requests()).isEqualTo(s.requests.get());
            List<JsonNode> cost = JsonlFile.read(pipeline.workDir().costLog(InstructionKind.CONVERSATION)).records();
            assertThat(cost).hasSize(s.requests.get());
            assertThat(cost.stream().mapToLong(c -> c.get("prompt_tokens").asLong() + c.get("completion_tokens").asLong()).sum())
                    .isEqualTo(s.promptTokens.get() + s.completionTokens.get());
            assertThat(records(InstructionKind.CONVERSATION).stream().filter(n -> n.get("cached").asBoolean()).count())
                    .isEqualTo(2);
        }
    }

    @Test
    void interruptingTheRunKeepsWhatWasPaidForAndARestartFinishes() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            AtomicReference<Thread> runner = new AtomicReference<>();
            s.onSuccess = n -> {
                if (n == 8) {
                    runner.get().interrupt();
                }
            };
            AtomicReference<GenerateStage.Report> report = new AtomicReference<>();
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    report.set(pipeline.generate(generateOptions(s).withLlm(options(s).withConcurrency(3))));
                } catch (Throwable e) {
                    error.set(e);
                }
            });
            runner.set(t);
            t.start();
            t.join(20_000);
            assertThat(error.get()).isNull();
            GenerateStage.Report r = report.get();
            assertThat(r.stopped()).isEqualTo(GenerateStage.StopReason.INTERRUPTED);
            assertThat(r.answeredByServer()).isEqualTo(s.successes.get()).isBetween(8, 14);
            assertThat(records(InstructionKind.CONVERSATION)).hasSize(s.successes.get());

            s.onSuccess = n -> { };
            GenerateStage.Report second = pipeline.generate(generateOptions(s));
            assertThat(second.complete()).isTrue();
            assertThat(second.alreadyDone()).isEqualTo(r.answeredByServer());
            assertOneRecordPerImage(records(InstructionKind.CONVERSATION), WITH_TEXT);
            assertNoImagePaidTwice(s);
        }
    }

    @Test
    void retryAfterIsWaitedOut() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            s.retryAfter = "1";
            s.plan = (n, u) -> n == 0 ? FakeOpenAiServer.Fault.RATE_LIMIT : FakeOpenAiServer.Fault.NONE;
            Selection one = new Selection("train", 0, 1, EnumSet.of(Emotion.AMUSEMENT));
            GenerateStage.Report r = pipeline.generate(generateOptions(s).withSelection(one));
            assertThat(r.complete()).isTrue();
            assertThat(r.requests()).isEqualTo(2);
            assertThat(r.retries()).isEqualTo(1);
            long gapMs = (s.requestNanos.get(1) - s.requestNanos.get(0)) / 1_000_000;
            assertThat(gapMs).isGreaterThanOrEqualTo(950);
            List<JsonNode> cost = JsonlFile.read(pipeline.workDir().costLog(InstructionKind.CONVERSATION)).records();
            assertThat(cost.get(0).get("outcome").asText()).isEqualTo("RATE_LIMITED");
            assertThat(cost.get(0).get("status").asInt()).isEqualTo(429);
            assertThat(cost.get(0).get("retry_after_ms").asLong()).isEqualTo(1000);
        }
    }

    @Test
    void refusedCredentialsStopTheRunAndABadRequestFailsOnlyItsImage() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            s.plan = (n, u) -> FakeOpenAiServer.Fault.UNAUTHORIZED;
            GenerateStage.Report r = pipeline.generate(generateOptions(s));
            assertThat(r.stopped()).isEqualTo(GenerateStage.StopReason.AUTH);
            assertThat(r.requests()).isLessThanOrEqualTo(4);
            assertThat(r.failedRequestsByKind()).containsKey("AUTH");
            assertThat(records(InstructionKind.CONVERSATION)).isEmpty();
        }
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            String badName = TestSets.name(Emotion.AWE, 3);
            s.plan = (n, u) -> u.contains(badName) ? FakeOpenAiServer.Fault.BAD_REQUEST : FakeOpenAiServer.Fault.NONE;
            GenerateStage.Report r = pipeline.generate(generateOptions(s));
            assertThat(r.stopped()).isEqualTo(GenerateStage.StopReason.NONE);
            assertThat(r.failed()).isEqualTo(1);
            assertThat(r.failedRequestsByKind()).containsEntry("CLIENT_ERROR", 1L);
            assertThat(r.requests()).isEqualTo(WITH_TEXT);
            List<JsonNode> errors = JsonlFile.read(pipeline.workDir().errors(InstructionKind.CONVERSATION)).records()
                    .stream().filter(e -> e.get("run").asText().equals(r.runId())).toList();
            assertThat(errors).hasSize(1);
            assertThat(errors.get(0).get("key").asText()).isEqualTo("awe/" + badName);
            assertThat(errors.get(0).get("status").asInt()).isEqualTo(400);
            assertOneRecordPerImage(records(InstructionKind.CONVERSATION), WITH_TEXT - 1);

            s.plan = FakeOpenAiServer.FaultPlan.none();
            GenerateStage.Report again = pipeline.generate(generateOptions(s));
            assertThat(again.answeredByServer()).isEqualTo(1);
            assertOneRecordPerImage(records(InstructionKind.CONVERSATION), WITH_TEXT);
        }
    }

    @Test
    void sendsTheSystemPromptAndTheCapAnnoTextAsTheSeedDoes() throws Exception {
        Path seedPrompt = tmp.resolve("reasoning.txt");
        Files.write(seedPrompt, "You are an AI visual assistant.\r\nSecond line.\n".getBytes(StandardCharsets.UTF_8));
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            Selection two = new Selection("train", 0, 1, EnumSet.of(Emotion.AMUSEMENT, Emotion.SADNESS));
            pipeline.generate(GenerateStage.Options.of(InstructionKind.REASONING, options(s)).withSelection(two));
            pipeline.generate(GenerateStage.Options.of(InstructionKind.CONVERSATION, options(s)).withSelection(two)
                    .withSystemPromptFile(seedPrompt));
            assertThat(s.bodies).hasSize(4);
            Map<String, JsonNode> byKind = new HashMap<>();
            for (JsonNode b : s.bodies) {
                assertThat(b.get("model").asText()).isEqualTo("test-model");
                assertThat(b.get("temperature").asDouble()).isEqualTo(1.0);
                JsonNode msgs = b.get("messages");
                assertThat(msgs).hasSize(2);
                assertThat(msgs.get(0).get("role").asText()).isEqualTo("system");
                assertThat(msgs.get(1).get("role").asText()).isEqualTo("user");
                String user = msgs.get(1).get("content").asText();
                String name = user.startsWith("a photo of amusement") ? "amusement" : "sadness";
                assertThat(user).isEqualTo(Files.readString(pipeline.workDir().root().resolve("cap-ano/" + name + "/"
                        + TestSets.name(Emotion.valueOf(name.toUpperCase()), 0) + ".txt")));
                byKind.put(msgs.get(0).get("content").asText().startsWith("You are an AI visual assistant.\n") ? "seed" : "own", b);
            }
            assertThat(byKind.get("own").get("messages").get(0).get("content").asText())
                    .isEqualTo(SystemPrompts.builtIn(InstructionKind.REASONING));
            assertThat(byKind.get("seed").get("messages").get(0).get("content").asText())
                    .isEqualTo("You are an AI visual assistant.\nSecond line.\n");
            assertThat(s.authHeaders).allMatch(h -> h.equals("Bearer sk-test"));
            assertThat(records(InstructionKind.REASONING)).hasSize(2);
        }
    }
}
