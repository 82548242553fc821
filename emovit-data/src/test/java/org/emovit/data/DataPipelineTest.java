package org.emovit.data;

import org.emovit.data.pipeline.DataPipeline;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.emovit.data.llm.GenerateStage;
import org.emovit.data.InstructionKind;
import org.emovit.data.llm.LlmOptions;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The whole chain on a small EmoSet-layout set: caption, cap-anno, generate (both kinds), assemble. */
class DataPipelineTest {

    @TempDir
    Path tmp;

    @org.junit.jupiter.api.BeforeAll
    static void warmUp() throws Exception {
        FakeOpenAiServer.warmUpClient();
    }

    @Test
    void runsTheWholeChainEndToEndAndARerunPaysNothing() throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp.resolve("emoset"), 4);
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        DataPipeline p = DataPipeline.of(m.root(), tmp.resolve("work"), new PrintStream(progress, true));
        Captioner captioner = img -> "a photo of " + img.getFileName().toString().replaceAll("\\..*", "");
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            s.plan = FakeOpenAiServer.FaultPlan.random(3, 0.2);
            LlmOptions llm = LlmOptions.fromEnv(Map.of("OPENAI_BASE_URL", s.baseUrl(), "OPENAI_API_KEY", "sk-chain",
                            "OPENAI_MODEL", "chain-model"))
                    .withBackoff(Duration.ofMillis(1), Duration.ofMillis(10)).withRequestTimeout(Duration.ofMillis(250))
                    .withMaxAttempts(15).withJitterSeed(3L);
            assertThat(llm.toString()).doesNotContain("sk-chain");
            EnumSet<Emotion> every = EnumSet.allOf(Emotion.class);
            DataPipeline.ChainOptions o = new DataPipeline.ChainOptions(
                    Map.of(InstructionKind.REASONING, new Selection("train", 0, 2, every),
                            InstructionKind.CONVERSATION, new Selection("train", 0, 4, every)),
                    Map.of(), llm, 2, new Selection("train", 2, 4, every), List.of(), 42L);

            DataPipeline.ChainReport r = p.runAll(captioner, o);

            assertThat(r.finished()).isTrue();
            assertThat(r.captions()).hasSize(1);
            assertThat(r.captions().get(0).captioned()).isEqualTo(31);
            assertThat(r.capAnno().get(0).written()).isEqualTo(30);
            assertThat(r.capAnno().get(0).skipped()).anyMatch(d -> d.path().equals(m.malformedFile().toString()));
            GenerateStage.Report reasoning = r.generate().get(InstructionKind.REASONING);
            GenerateStage.Report conversation = r.generate().get(InstructionKind.CONVERSATION);
            assertThat(reasoning.complete()).isTrue();
            assertThat(reasoning.answeredByServer()).isEqualTo(15);
            assertThat(conversation.answeredByServer()).isEqualTo(30);
            assertThat(s.successes.get()).isEqualTo(45);
            assertThat(reasoning.requests() + conversation.requests()).isEqualTo(s.requests.get());

            Path allJson = p.workDir().allJson();
            JsonNode all = new ObjectMapper().readTree(allJson.toFile());
            assertThat(all).hasSize(45 + 90 + 16);
            assertThat(r.assembly().summary().byKindAndClass().get("reasoning").values().stream().mapToInt(i -> i).sum())
                    .isEqualTo(45);
            assertThat(r.assembly().summary().byKindAndClass().get("categorical")).containsEntry("fear", 2);
            assertThat(Files.readAllLines(p.workDir().allJsonl())).hasSize(151);
            assertThat(p.workDir().summary()).exists();
            for (JsonNode rec : all) {
                assertThat(rec.get("conversations")).hasSize(2);
                assertThat(rec.get("image").asText()).matches("[a-z]+_001\\d\\d\\.(jpg|png)");
            }

            String out = progress.toString();
            for (String stage : new String[] {"caption [", "cap-anno [", "reasoning [", "conversation [", "assemble ["}) {
                assertThat(out).contains(stage);
            }

            // rerun: every stage skips what is done; nothing is paid again; same all.json
            byte[] before = Files.readAllBytes(allJson);
            int requests = s.requests.get();
            DataPipeline.ChainReport again = p.runAll(img -> {
                throw new AssertionError("nothing should be captioned again");
            }, o);
            assertThat(again.finished()).isTrue();
            assertThat(s.requests.get()).isEqualTo(requests);
            assertThat(Files.readAllBytes(allJson)).isEqualTo(before);
        }
    }

    @Test
    void chainStopsBeforeAssemblyWhenTheBudgetRunsOut() throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp.resolve("emoset"), 2);
        DataPipeline p = DataPipeline.of(m.root(), tmp.resolve("work"), null);
        try (FakeOpenAiServer s = new FakeOpenAiServer()) {
            LlmOptions llm = LlmOptions.fromEnv(Map.of()).withBaseUrl(s.baseUrl()).withBudget(3, Long.MAX_VALUE)
                    .withRequestTimeout(Duration.ofSeconds(1));
            DataPipeline.ChainOptions o = DataPipeline.ChainOptions.defaults(llm);
            DataPipeline.ChainReport r = p.runAll(img -> "cap", o);
            assertThat(r.finished()).isFalse();
            assertThat(r.generate().get(InstructionKind.REASONING).stopped()).isEqualTo(GenerateStage.StopReason.BUDGET);
            assertThat(s.requests.get()).isEqualTo(3);
            assertThat(p.workDir().allJson()).doesNotExist();
        }
    }
}
