package org.emovit.data;

import org.emovit.data.pipeline.DataPipeline;
import org.emovit.core.Emotion;
import org.emovit.data.llm.GenerateStage;
import org.emovit.data.InstructionKind;
import org.emovit.data.llm.LlmOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Failures that every request would repeat stop the generate run at once with one line naming the endpoint and
 * the cause, instead of being retried image after image.
 */
class EndpointFailureTest {

    @TempDir
    Path tmp;
    DataPipeline pipeline;

    @BeforeAll
    static void warmUp() throws Exception {
        FakeOpenAiServer.warmUpClient();
    }

    @BeforeEach
    void setUp() throws IOException {
        TestSets.emoSet(tmp.resolve("emoset"), 4);
        pipeline = DataPipeline.of(tmp.resolve("emoset"), tmp.resolve("work"), null);
        pipeline.caption(p -> "a photo of " + p.getFileName(), new CaptionStage.Options(GenerateStageTest.selection(), 1, true));
        pipeline.capAnno(GenerateStageTest.selection());
    }

    GenerateStage.Options generate(LlmOptions llm) {
        return GenerateStage.Options.of(InstructionKind.CONVERSATION, llm).withSelection(GenerateStageTest.selection());
    }

    /** A loopback URL where nothing listens. */
    static String deadUrl() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        return "http://127.0.0.1:" + port + "/v1";
    }

    @Test
    void aDeadEndpointStopsTheRunAtOnceNamingTheUrlAndTheCause() throws Exception {
        String url = deadUrl();
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            long t0 = System.nanoTime();
            GenerateStage.Report r = pipeline.generate(generate(GenerateStageTest.options(s).withBaseUrl(url)));
            long ms = (System.nanoTime() - t0) / 1_000_000;

            assertThat(r.stopped()).isEqualTo(GenerateStage.StopReason.UNREACHABLE);
            // at most the requests already in flight when the first refusal came back; none retried
            assertThat(r.requests()).isLessThanOrEqualTo(4);
            assertThat(r.retries()).isZero();
            assertThat(r.notStarted()).isGreaterThanOrEqualTo(GenerateStageTest.WITH_TEXT - 4);
            assertThat(r.stopMessage()).contains(url).contains("connection refused").doesNotContain("\n");
            assertThat(r.summary()).contains("stopped (unreachable)").contains(url);
            assertThat(ms).isLessThan(10_000);
        }
    }

    @Test
    void anHtmlPageWithStatus200IsNotRetriedAndSaysWhatCameBack() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            s.plan = (n, u) -> FakeOpenAiServer.Fault.HTML;
            GenerateStage.Report r = pipeline.generate(generate(GenerateStageTest.options(s)));

            assertThat(r.stopped()).isEqualTo(GenerateStage.StopReason.NOT_JSON);
            assertThat(r.requests()).isLessThanOrEqualTo(4).isEqualTo(s.requests.get());
            assertThat(r.retries()).isZero();
            assertThat(r.failedRequestsByKind()).containsOnlyKeys("NOT_JSON");
            assertThat(r.stopMessage()).contains(s.baseUrl() + "/chat/completions").contains("text/html")
                    .contains("<!DOCTYPE html>").doesNotContain("\n");
        }
    }

    @Test
    void refusedCredentialsStopTheRunWithTheServersReason() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            s.plan = (n, u) -> FakeOpenAiServer.Fault.UNAUTHORIZED;
            GenerateStage.Report r = pipeline.generate(generate(GenerateStageTest.options(s)));

            assertThat(r.stopped()).isEqualTo(GenerateStage.StopReason.AUTH);
            assertThat(r.retries()).isZero();
            assertThat(r.stopMessage()).contains(s.baseUrl()).contains("401").contains("Incorrect API key provided")
                    .contains("OPENAI_API_KEY").doesNotContain("\n");
        }
    }

    @Test
    void aMissingKeyForARemoteEndpointIsRefusedBeforeAnyRequestOrCaption() {
        LlmOptions noKey = LlmOptions.fromEnv(Map.of()).withBaseUrl("https://llm.example.com/v1");
        AtomicInteger clients = new AtomicInteger();
        pipeline.withClientFactory(o -> {
            clients.incrementAndGet();
            throw new AssertionError("no client should be made");
        });
        assertThatThrownBy(() -> pipeline.generate(generate(noKey)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("OPENAI_API_KEY").hasMessageContaining("https://llm.example.com/v1");

        AtomicInteger captions = new AtomicInteger();
        DataPipeline.ChainOptions chain = DataPipeline.ChainOptions.defaults(noKey);
        assertThatThrownBy(() -> pipeline.runAll(p -> {
            captions.incrementAndGet();
            return "x";
        }, chain)).hasMessageContaining("OPENAI_API_KEY");
        assertThat(captions).hasValue(0);
        assertThat(clients).hasValue(0);
    }

    @Test
    void aLocalServerNeedsNoKey() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            LlmOptions local = GenerateStageTest.options(s).withApiKey(null);
            GenerateStage.Report r = pipeline.generate(generate(local)
                    .withSelection(new Selection("train", 0, 1, EnumSet.of(Emotion.AMUSEMENT))));
            assertThat(r.complete()).isTrue();
            assertThat(r.answeredByServer()).as(r.summary()).isEqualTo(1);
        }
    }

    @Test
    void theReportPrintsAsOneShortLine() throws Exception {
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            GenerateStage.Report r = pipeline.generate(generate(GenerateStageTest.options(s)));
            assertThat(r.summary()).startsWith("conversation: 32 selected, 0 done before, 2 skipped")
                    .contains(GenerateStageTest.WITH_TEXT + " answered by " + GenerateStageTest.WITH_TEXT + " requests")
                    .contains("tokens: " + s.promptTokens.get() + " prompt + " + s.completionTokens.get() + " completion")
                    .doesNotContain("Report[").doesNotContain("\n");
            assertThat(r.summary().length()).isLessThan(300);
        }
    }
}
