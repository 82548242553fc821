package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.emovit.api.EmbeddedModel;
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
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
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
    void convertWritesAModelThatAsksTheSame(@TempDir Path dir) {
        Path out = dir.resolve("tiny-bf16");
        Result r = run("convert", "--dtype", "bf16", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("converted emovit-tiny-random").contains("bf16");
        assertThat(out.resolve("model.safetensors")).isRegularFile();
        assertThat(run("ask", "--max-new-tokens", "6", "--model", out.toString(), "--dtype", "bf16").out())
                .isEqualTo(run("ask", "--max-new-tokens", "6", "--dtype", "bf16").out());
        Result again = run("convert", "--out", out.toString());
        assertThat(again.code()).isOne();
        assertThat(again.err()).contains("is not empty");
    }

    /**
     * --config without a checkpoint converts random weights at the config's sizes (it used to write the embedded
     * model under the random model's name), quantised as they are made with --quantize int8.
     */
    @Test
    void convertOfARandomConfigWritesRandomWeightsAtItsSizes(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.json");
        java.nio.file.Files.copy(org.emovit.api.EmbeddedModel.directory().resolve("config.json"), config);
        Path out = dir.resolve("random-int8");
        Result r = run("convert", "--config", config.toString(), "--quantize", "int8", "--dtype", "f32", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("converted emovit-random-config");
        String fc1 = "vision_model.encoder.layers.0.mlp.fc1.weight", norm = "vision_model.post_layernorm.weight";
        try (TensorSource random = Safetensors.open(out.resolve("model.safetensors"));
             TensorSource embedded = Safetensors.openDir(org.emovit.api.EmbeddedModel.directory())) {
            assertThat(random.get(fc1).dtype()).isEqualTo(org.emovit.weights.DType.I8);
            assertThat(random.get(fc1).shape()).isEqualTo(embedded.get(fc1).shape());
            // the random model's norms are ones; the embedded (trained) model's are not
            assertThat(random.get(norm).toFloatArray()).containsOnly(1f);
            assertThat(embedded.get(norm).toFloatArray()).isNotEqualTo(random.get(norm).toFloatArray());
        }
        assertThat(run("classify", "--model", out.toString()).code()).isZero();
    }

    @Test
    void convertQuantizesTheLlmsLinearsToInt8(@TempDir Path dir) {
        Path out = dir.resolve("tiny-int8");
        Result r = run("convert", "--dtype", "bf16", "--quantize", "int8", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("converted emovit-tiny-random").contains("int8");
        try (TensorSource files = Safetensors.open(out.resolve("model.safetensors"))) {
            String q = "language_model.model.layers.0.self_attn.q_proj.weight";
            assertThat(files.get(q).dtype()).isEqualTo(org.emovit.weights.DType.I8);
            assertThat(files.get(q + "_scale").dtype()).isEqualTo(org.emovit.weights.DType.F32);
            assertThat(files.get("language_model.lm_head.weight").dtype()).isEqualTo(org.emovit.weights.DType.I8);
            assertThat(files.get("language_model.model.embed_tokens.weight").dtype()).isEqualTo(org.emovit.weights.DType.BF16);
        }
        Result ask = run("ask", "--max-new-tokens", "6", "--model", out.toString(), "--dtype", "bf16");
        assertThat(ask.code()).as(ask.err()).isZero();
        Result bad = run("convert", "--quantize", "int3", "--out", dir.resolve("x").toString());
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("--quantize");
    }

    @Test
    void convertStoresTheLlmsLinearsIn4BitsAndTheVitsInInt8(@TempDir Path dir) {
        Path out = dir.resolve("tiny-int4");
        Result r = run("convert", "--dtype", "bf16", "--quantize", "int4", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("int4");
        try (TensorSource files = Safetensors.open(out.resolve("model.safetensors"))) {
            String q = "language_model.model.layers.0.self_attn.q_proj.weight";
            assertThat(files.get(q).dtype()).isEqualTo(org.emovit.weights.DType.U8);
            assertThat(files.get(q + "_group_scales").dtype()).isEqualTo(org.emovit.weights.DType.BF16);
            assertThat(files.get(q + "_group_scales").shape()).hasSize(2);
            assertThat(files.get("vision_model.encoder.layers.0.mlp.fc1.weight").dtype()).isEqualTo(org.emovit.weights.DType.I8);
        }
        Result ask = run("ask", "--max-new-tokens", "6", "--model", out.toString(), "--dtype", "bf16");
        assertThat(ask.code()).as(ask.err()).isZero();

        // bench times the converted folder as commands load it, its quantisation read from its keys
        Result bench = run("bench", "--model", out.toString(), "--runs", "1", "--prompt-tokens", "8", "--new-tokens", "2");
        assertThat(bench.code()).as(bench.err()).isZero();
        assertThat(bench.out()).contains("model: " + out + " (").contains("its weights").contains("(the LLM's Linears int4, the ViT's int8)")
                .containsPattern("(?m)^int4 LLM products: .+$").containsPattern("(?m)^loaded in [0-9.]+ s").contains("median:");
        Result mixed = run("bench", "--model", out.toString(), "--quantize", "int8");
        assertThat(mixed.code()).isNotZero();
        assertThat(mixed.err().strip()).isEqualTo("emovit: --model takes its sizes and quantisation from the folder: leave out --config, "
                + "--llm-layers, --vit-layers and --quantize");
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
    void forwardWritesGradientsMatchingTheReference(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("grads.safetensors");
        Result r = run("forward", "--grads", "--inputs", cases().toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        int compared = 0;
        try (TensorSource got = Safetensors.open(out); TensorSource expected = Safetensors.open(cases())) {
            for (String key : expected.keys()) {
                if (!key.startsWith("expected.grad.")) {
                    continue;
                }
                float[] ref = expected.get(key).toFloatArray(), g = got.get(key.substring("expected.".length())).toFloatArray();
                double diff = 0, max = 0;
                for (int i = 0; i < ref.length; i++) {
                    diff = Math.max(diff, Math.abs(g[i] - ref[i]));
                    max = Math.max(max, Math.abs(ref[i]));
                }
                if (max < 1e-7) {
                    assertThat(diff).as(key).isLessThan(1e-6);   // a key bias: the true gradient is 0
                } else {
                    assertThat(diff / max).as(key).isLessThan(1e-4);
                }
                compared++;
            }
            assertThat(got.keys()).contains("grad.query_tokens", "grad.vision_model.post_layernorm.weight");
        }
        assertThat(compared).isGreaterThan(30);
    }

    @Test
    void trainRunsResumesAndExportsAnOverlay(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        java.nio.file.Files.createDirectories(images);
        ClassifyEvalTest.png(images.resolve("a.png"), 1);
        ClassifyEvalTest.png(images.resolve("b.png"), 2);
        java.nio.file.Files.writeString(dir.resolve("all.json"), "[{\"id\": \"00001\", \"image\": \"a.png\", \"conversations\": "
                + "[{\"from\": \"human\", \"value\": \"emotion?\"}, {\"from\": \"gpt\", \"value\": \"Predict emotion: awe\"}]},"
                + "{\"id\": \"00002\", \"image\": \"b.png\", \"conversations\": "
                + "[{\"from\": \"human\", \"value\": \"emotion?\"}, {\"from\": \"gpt\", \"value\": \"Predict emotion: fear\"}]},"
                + "{\"id\": \"00003\", \"image\": \"missing.png\", \"conversations\": "
                + "[{\"from\": \"human\", \"value\": \"q\"}, {\"from\": \"gpt\", \"value\": \"a\"}]}]");
        java.nio.file.Files.writeString(dir.resolve("train.yaml"), "run:\n  init_lr: 0.001\n  warmup_steps: 2\n  batch_size_train: 2\n");
        Path run = dir.resolve("run");
        Result first = run("train", "--data", dir.resolve("all.json").toString(), "--images", images.toString(), "--out", run.toString(),
                "--train-config", dir.resolve("train.yaml").toString(), "--max-steps", "3");
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.err()).contains("1 record(s) skipped");
        Result again = run("train", "--data", dir.resolve("all.json").toString(), "--images", images.toString(), "--out", run.toString(),
                "--train-config", dir.resolve("train.yaml").toString(), "--max-steps", "5", "--resume", "--val-data", dir.resolve("all.json").toString());
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("resuming from").contains("step 3");
        assertThat(run.resolve("model_weights.pth")).exists();
        assertThat(run.resolve("curve.png")).exists();
        java.util.List<String> metrics = java.nio.file.Files.readAllLines(run.resolve("metrics.jsonl"));
        assertThat(metrics.stream().filter(l -> !l.contains("val_loss"))).hasSize(5);
        assertThat(metrics.stream().filter(l -> l.contains("val_accuracy"))).isNotEmpty();
        assertThat(again.err()).contains("validation: loss");
        Result ask = run("ask", "--overlay", run.resolve("model_weights.pth").toString(), "--max-new-tokens", "3");
        assertThat(ask.code()).as(ask.err()).isZero();
    }

    @Test
    void missingCheckpointIsNamed(@TempDir Path dir) {
        Result r = run("ask", "--model", dir.resolve("nowhere").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("nowhere").contains("config.json");
    }

    @Test
    void anOutputThatCannotBeWrittenSaysWhy(@TempDir Path dir) throws Exception {
        Path plain = Files.writeString(dir.resolve("plain.txt"), "a file, not a folder");
        Result r = run("classify", "--output", plain.resolve("out.jsonl").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("plain.txt").contains("not a directory");
        Result f = run("forward", "--inputs", cases().toString(), "--out", dir.resolve("no/such/dir/out.safetensors").toString());
        assertThat(f.code()).isNotZero();
        assertThat(f.err()).contains("no/such/dir").contains("does not exist");
        assertThat(dir.resolve("no")).doesNotExist();
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
        Result r = run("bench", "--config", config.toString(), "--runs", "1", "--prompt-tokens", "8", "--new-tokens", "2", "--heatmap");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("(?m)^cpu: .+ cores; flags: .+; libtorch kernels: \\w+$").contains("median:").contains("peak RSS").contains("machine (this run): bf16 matmul")
                .contains("ratio vision:").contains("ratio qformer+proj:").contains("ratio llm prefill:").contains("ratio decode:");
        assertThat(r.out()).containsPattern("(?m)^heatmap bench: classify \\(score mode, 8 answers\\) \\d+ ms .+ needed -?[0-9.]+ GiB$")
                .containsPattern("(?m)^heatmap bench: rollout map \\d+ ms .+ needed -?[0-9.]+ GiB$")
                .containsPattern("(?m)^heatmap bench: grad-cam map \\d+ ms .+ needed -?[0-9.]+ GiB$");
    }
}
