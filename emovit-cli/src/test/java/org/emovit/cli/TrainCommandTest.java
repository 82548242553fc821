package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.emovit.cli.CommandsTest.Result;
import org.emovit.api.EmbeddedModel;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `emovit train` with the inputs that used to be misread: reused run directories, changed configs, bad YAML, an edited model. */
class TrainCommandTest {

    /** Two images and an all.json over them. */
    static Path dataset(Path dir) throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        ClassifyEvalTest.png(images.resolve("a.png"), 1);
        ClassifyEvalTest.png(images.resolve("b.png"), 2);
        Files.writeString(dir.resolve("all.json"), "[{\"id\": \"1\", \"image\": \"a.png\", \"conversations\": "
                + "[{\"from\": \"human\", \"value\": \"emotion?\"}, {\"from\": \"gpt\", \"value\": \"Predict emotion: awe\"}]},"
                + "{\"id\": \"2\", \"image\": \"b.png\", \"conversations\": "
                + "[{\"from\": \"human\", \"value\": \"emotion?\"}, {\"from\": \"gpt\", \"value\": \"Predict emotion: fear\"}]}]");
        return dir;
    }

    static Result train(Path dir, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "--data", dir.resolve("all.json").toString(), "--images",
                dir.resolve("images").toString(), "--out", out.toString()));
        args.addAll(List.of(more));
        return CommandsTest.run(args.toArray(new String[0]));
    }

    @Test
    void resumeRefusesAChangedConfigNamingTheKeysAndKeepsConfigYaml(@TempDir Path dir) throws Exception {
        dataset(dir);
        Path run = dir.resolve("run");
        Files.writeString(dir.resolve("a.yaml"), "batchSize: 2\nseed: 1\n");
        Files.writeString(dir.resolve("b.yaml"), "batchSize: 1\nseed: 2\ninitLr: 0.001\n");
        Result first = train(dir, run, "--train-config", dir.resolve("a.yaml").toString(), "--max-steps", "2");
        assertThat(first.code()).as(first.err()).isZero();
        String recorded = Files.readString(run.resolve("config.yaml"));

        Result changed = train(dir, run, "--train-config", dir.resolve("b.yaml").toString(), "--max-steps", "4", "--resume");
        assertThat(changed.code()).isNotZero();
        assertThat(changed.err()).contains("batchSize: 2 → 1").contains("seed: 1 → 2").contains("initLr: 1.0E-5 → 0.001")
                .contains("--allow-config-change");
        assertThat(Files.readString(run.resolve("config.yaml"))).isEqualTo(recorded);

        Result allowed = train(dir, run, "--train-config", dir.resolve("b.yaml").toString(), "--max-steps", "3", "--resume",
                "--allow-config-change");
        assertThat(allowed.code()).as(allowed.err()).isZero();
        assertThat(allowed.err()).contains("resuming with a changed config").contains("resuming from");
        assertThat(Files.readString(run.resolve("config.yaml"))).contains("batchSize: 1").contains("seed: 2");
    }

    @Test
    void aNewRunIntoAUsedDirectoryIsRefusedUnlessOverwritten(@TempDir Path dir) throws Exception {
        dataset(dir);
        Path run = dir.resolve("run");
        assertThat(train(dir, run, "--max-steps", "2").code()).isZero();
        List<String> metrics = Files.readAllLines(run.resolve("metrics.jsonl"));
        Result again = train(dir, run, "--max-steps", "1");
        assertThat(again.code()).isNotZero();
        assertThat(again.err().strip()).isEqualTo("emovit: " + run + " holds a run (metrics.jsonl, checkpoints, curve.png, model_weights.pth, "
                + "model_weights.safetensors): use --resume to continue it, --overwrite to replace it, or another --out");
        assertThat(Files.readAllLines(run.resolve("metrics.jsonl"))).isEqualTo(metrics);

        Result fresh = train(dir, run, "--max-steps", "1", "--overwrite");
        assertThat(fresh.code()).as(fresh.err()).isZero();
        assertThat(Files.readAllLines(run.resolve("metrics.jsonl"))).hasSize(1);
        try (var s = Files.list(run.resolve("checkpoints"))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("step-00000001");
        }
    }

    @Test
    void checkpointEveryIsAdvertisedAndWorks(@TempDir Path dir) throws Exception {
        dataset(dir);
        assertThat(CommandsTest.run("train", "--help").out()).contains("--checkpoint-every");
        Path run = dir.resolve("run");
        Result r = train(dir, run, "--max-steps", "5", "--checkpoint-every", "2");
        assertThat(r.code()).as(r.err()).isZero();
        try (var s = Files.list(run.resolve("checkpoints"))) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("step-00000002", "step-00000004", "step-00000005");
        }
        Result zero = train(dir, dir.resolve("other"), "--checkpoint-every", "0");
        assertThat(zero.code()).isNotZero();
        assertThat(zero.err()).contains("--checkpoint-every must be a positive integer, got 0");
    }

    @Test
    void aZeroBatchSizeOrAnUnknownKeyIsNamedWithItsFile(@TempDir Path dir) throws Exception {
        dataset(dir);
        Path zero = dir.resolve("zero.yaml");
        Files.writeString(zero, "run:\n  batch_size_train: 0\n");
        Result r = train(dir, dir.resolve("run"), "--train-config", zero.toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err().strip()).isEqualTo("emovit: training config " + zero + ": batch_size_train must be a positive integer, got 0");
        Path unknown = dir.resolve("FT.yaml");
        Files.writeString(unknown, "run:\n  batch_size: 4\n");
        Result u = train(dir, dir.resolve("run"), "--train-config", unknown.toString());
        assertThat(u.code()).isNotZero();
        assertThat(u.err()).contains("unknown key 'batch_size'").contains(unknown.toString()).contains("did you mean 'batch_size_train'");
        assertThat(dir.resolve("run/metrics.jsonl")).doesNotExist();
    }

    @Test
    void anEditedModelDoesNotReuseItsOldCachedFeatures(@TempDir Path dir) throws Exception {
        dataset(dir);
        Path model = Files.createDirectories(dir.resolve("model"));
        try (var s = Files.walk(EmbeddedModel.directory())) {
            for (Path p : s.toList()) {
                Path target = model.resolve(EmbeddedModel.directory().relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        Path cache = dir.resolve("cache");
        Result before = train(dir, dir.resolve("run1"), "--model", model.toString(), "--feature-cache", cache.toString(), "--max-steps", "1");
        assertThat(before.code()).as(before.err()).isZero();

        // the same path, edited contents: one ViT weight changes
        Path weights = model.resolve("model.safetensors");
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        try (TensorSource src = Safetensors.open(weights)) {
            for (String k : src.keys()) {
                RawTensor t = src.get(k);
                if (k.equals("vision_model.encoder.layers.0.mlp.fc1.weight")) {
                    float[] v = t.toFloatArray();
                    v[0] += 0.5f;
                    t = RawTensor.ofFloats(t.shape(), v);
                } else {
                    t = RawTensor.of(t.dtype(), t.shape(), bytes(t));
                }
                tensors.put(k, t);
            }
        }
        Safetensors.write(weights, tensors, Map.of("format", "pt"));
        Result after = train(dir, dir.resolve("run2"), "--model", model.toString(), "--feature-cache", cache.toString(), "--max-steps", "1");
        assertThat(after.code()).as(after.err()).isZero();
        assertThat(cacheLine(after.err())).startsWith(cache.toString()).isNotEqualTo(cacheLine(before.err()));
    }

    @Test
    void aResumedRunLogsEachStepOnce(@TempDir Path dir) throws Exception {
        dataset(dir);
        Path run = dir.resolve("run");
        Files.writeString(dir.resolve("every2.yaml"), "checkpointEvery: 2\n");
        Result first = train(dir, run, "--train-config", dir.resolve("every2.yaml").toString(), "--max-steps", "3");
        assertThat(first.code()).as(first.err()).isZero();
        // the step-3 checkpoint is damaged: the resumed run goes back to step 2 and trains step 3 again
        Files.writeString(run.resolve("checkpoints/step-00000003/optimizer.pt"), "cut");
        Result again = train(dir, run, "--train-config", dir.resolve("every2.yaml").toString(), "--max-steps", "4", "--resume");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("step 2").contains("dropped 1 metrics line(s) after step 2");
        assertThat(Files.readAllLines(run.resolve("metrics.jsonl")).stream().map(l -> l.replaceAll(",.*", "")))
                .containsExactly("{\"step\":1", "{\"step\":2", "{\"step\":3", "{\"step\":4");
    }

    static byte[] bytes(RawTensor t) {
        var b = t.data().duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    static String cacheLine(String err) {
        return err.lines().filter(l -> l.startsWith("ViT feature cache: ")).findFirst().orElseThrow().substring("ViT feature cache: ".length());
    }

    /** Training back-propagates through the frozen int8 LLM (the int8 kernel has no derivative; the shared buffer must not be used). */
    @Test
    void trainsOnAnInt8Model(@TempDir Path dir) throws Exception {
        dataset(dir);
        Path int8 = dir.resolve("int8");
        CommandsTest.Result converted = CommandsTest.run("convert", "--quantize", "int8", "--dtype", "f32", "--out", int8.toString());
        assertThat(converted.code()).as(converted.err()).isZero();
        CommandsTest.Result trained = train(dir, dir.resolve("run"), "--model", int8.toString(), "--max-steps", "2");
        assertThat(trained.code()).as(trained.err()).isZero();
        assertThat(dir.resolve("run/model_weights.safetensors")).isNotEmptyFile();
    }
}
