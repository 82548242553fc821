package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The commands as a user runs them, on the embedded tiny model. */
class CommandsTest {

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        cli.setExecutionExceptionHandler((e, c, p) -> {
            c.getErr().println("emovit: " + e.getMessage());
            return 1;
        });
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    static Path cases() throws URISyntaxException {
        return Paths.get(CommandsTest.class.getClassLoader().getResource("cases.safetensors").toURI());
    }

    @Test
    void askWithoutArgumentsAnswersFromTheEmbeddedModelAndSaysWhatItIs() {
        Result r = run("ask", "--max-new-tokens", "5");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("random-weight test model");
        assertThat(r.out().strip()).isNotEmpty();
    }

    @Test
    void askIsDeterministic() {
        assertThat(run("ask", "--max-new-tokens", "6").out()).isEqualTo(run("ask", "--max-new-tokens", "6").out());
    }

    @Test
    void forwardWritesEveryOutputMatchingTheReference(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.safetensors");
        Result r = run("forward", "--inputs", cases().toString(), "--out", out.toString(), "--greedy", "6");
        assertThat(r.code()).as(r.err()).isZero();
        try (TensorSource got = Safetensors.open(out); TensorSource expected = Safetensors.open(cases())) {
            assertThat(got.keys()).contains("vision_last_hidden_state", "qformer_query_output", "language_model_inputs",
                    "logits", "loss", "greedy_ids");
            float[] logits = got.get("logits").toFloatArray(), ref = expected.get("expected.logits").toFloatArray();
            double diff = 0, max = 0;
            for (int i = 0; i < ref.length; i++) {
                diff = Math.max(diff, Math.abs(logits[i] - ref[i]));
                max = Math.max(max, Math.abs(ref[i]));
            }
            assertThat(diff / max).isLessThan(1e-4);
            assertThat(got.get("greedy_ids").toLongArray()).containsExactly(expected.get("expected.greedy_ids").toLongArray());
            assertThat((double) got.get("loss").toFloatArray()[0])
                    .isCloseTo(expected.get("expected.loss").toFloatArray()[0], org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    @Test
    void forwardFromLavisPartsWithTheOverlayMatchesTheOverlayReference(@TempDir Path dir) throws Exception {
        Path lavis = dir.resolve("lavis");
        for (String f : new String[] {"eva_vit.pth", "instructblip_trimmed.pth", "emovit_overlay.pth", "vicuna/config.json",
                "vicuna/model.safetensors", "vicuna/tokenizer.model", "hf-config.json"}) {
            Path target = lavis.resolve(f);
            java.nio.file.Files.createDirectories(target.getParent());
            try (var in = CommandsTest.class.getResourceAsStream("/tiny-a-lavis/" + f)) {
                java.nio.file.Files.copy(in, target);
            }
        }
        Path out = dir.resolve("out.safetensors");
        Result r = run("forward", "--vit", lavis.resolve("eva_vit.pth").toString(), "--qformer", lavis.resolve("instructblip_trimmed.pth").toString(),
                "--llm", lavis.resolve("vicuna").toString(), "--config", lavis.resolve("hf-config.json").toString(),
                "--overlay", lavis.resolve("emovit_overlay.pth").toString(), "--inputs", cases().toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        try (TensorSource got = Safetensors.open(out); TensorSource expected = Safetensors.open(cases())) {
            float[] logits = got.get("logits").toFloatArray(), ref = expected.get("expected.overlay.logits").toFloatArray();
            double diff = 0, max = 0;
            for (int i = 0; i < ref.length; i++) {
                diff = Math.max(diff, Math.abs(logits[i] - ref[i]));
                max = Math.max(max, Math.abs(ref[i]));
            }
            assertThat(diff / max).isLessThan(1e-4);
        }
    }

    @Test
    void missingCheckpointIsNamed(@TempDir Path dir) {
        Result r = run("ask", "--model", dir.resolve("nowhere").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("nowhere").contains("config.json");
    }

    @Test
    void badDtypeIsExplained() {
        Result r = run("ask", "--dtype", "f8");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("--dtype");
    }

    @Test
    void benchRunsOnTinySizes() throws Exception {
        Path config = EmbeddedModel.directory().resolve("config.json");
        Result r = run("bench", "--config", config.toString(), "--runs", "1", "--prompt-tokens", "8", "--new-tokens", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("median:").contains("peak RSS");
    }
}
