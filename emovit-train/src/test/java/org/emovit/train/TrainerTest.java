package org.emovit.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.GreedyDecoder;
import org.emovit.api.InstructBlipProcessor;
import org.emovit.image.ImageDecoder;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.ModelSource;
import org.emovit.model.Tensors;
import org.emovit.text.QFormerTokenizer;
import org.emovit.text.VicunaTokenizer;
import org.emovit.weights.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training on the tiny model: it learns, it resumes exactly, its checkpoints and exports hold. */
class TrainerTest {
    static final Device CPU = new Device("cpu");

    static Path hf() {
        try {
            return Paths.get(TrainerTest.class.getClassLoader().getResource("tiny-a/hf").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static InstructBlip load() {
        return InstructBlipLoader.load(ModelSource.huggingFace(hf()), ScalarType.Float, CPU, Trainer::isTrainable);
    }

    static Batcher batcher(InstructBlip m) {
        return new Batcher(m.config(), QFormerTokenizer.load(hf().resolve("qformer_tokenizer/vocab.txt")),
                VicunaTokenizer.load(hf().resolve("tokenizer.model")), 128, 256);
    }

    static List<TrainingSample> data(Path dir) throws Exception {
        String[][] qa = {{"emotion?", "awe"}, {"emotion?", "fear"}, {"feel?", "calm"}};
        List<TrainingSample> out = new ArrayList<>();
        for (int i = 0; i < qa.length; i++) {
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
            java.util.Random r = new java.util.Random(i);
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    img.setRGB(x, y, r.nextInt(0xFFFFFF));
                }
            }
            Path file = dir.resolve("img" + i + ".png");
            ImageIO.write(img, "png", file.toFile());
            out.add(new TrainingSample(Integer.toString(i), file, qa[i][0], qa[i][1]));
        }
        return out;
    }

    static TrainConfig quick(int steps) {
        return new TrainConfig(3e-3, 3e-3, 3e-3, 1, 0.005, 1000, 3, 1, 7, 128, 256, 1.0, false, 5, steps);
    }

    /**
     * With the ViT and the LLM frozen, only the 4 soft-prompt vectors can steer tiny-a's random 2-layer LLM, and
     * its loss levels off near 4.35 (from 6.1) whatever the rate. That floor is the frozen LM head's: the last
     * RMSNorm gives the hidden state a norm of about sqrt(48) ~ 7, the head's rows (std 0.02 over 48 dims) have norm
     * ~0.14, so no logit can stand more than ~1 above the others and a token's probability stays near e^1/(e^1 +
     * 513 e^-1) ~ 1.4 %, i.e. a loss of at least ~4.3. A 90 % fall would need the LLM tuned. What is asserted:
     * training lowers the loss steadily and well beyond noise.
     */
    @Test
    void trainingLowersTheLossOnAFewPairs(@TempDir Path dir) throws Exception {
        List<TrainingSample> records = data(dir);
        try (InstructBlip m = load()) {
            TrainConfig fast = new TrainConfig(3e-2, 3e-2, 3e-2, 1, 0.0, 1000, 3, 1, 7, 128, 256, 0, false, 1000, 100);
            Trainer.Result result = new Trainer(m, batcher(m), fast, dir).run(records, 0, null);
            double first = result.history().get(0).loss(), last = result.history().get(result.history().size() - 1).loss();
            assertThat(last).as("loss %s -> %s", first, last).isLessThan(first * 0.8);
            assertThat(Files.readAllLines(dir.resolve("metrics.jsonl"))).hasSize(100);
        }
    }

    @Test
    void aResumedRunEndsWithTheSameTensorsAsAnUninterruptedOne(@TempDir Path dir) throws Exception {
        List<TrainingSample> records = data(dir);
        Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
        Files.createDirectories(straight);
        Files.createDirectories(resumed);
        Map<String, float[]> expected = new java.util.HashMap<>();
        try (InstructBlip m = load()) {
            Trainer t = new Trainer(m, batcher(m), quick(12), straight);
            t.run(records, 0, null);
            t.trainable().forEach((k, v) -> expected.put(k, Tensors.toFloats(v)));
        }
        try (InstructBlip m = load()) {
            new Trainer(m, batcher(m), quick(7), resumed).run(records, 0, null);   // "killed" after step 7 (checkpoint at 5)
        }
        // the step-7 checkpoint is cut in half: resume must notice and fall back to step 5
        Path seven = Checkpoints.dir(resumed, 7).resolve("trainable.safetensors");
        byte[] bytes = Files.readAllBytes(seven);
        Files.write(seven, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        List<String> problems = new ArrayList<>();
        Checkpoints.Loaded ck = Checkpoints.latestValid(resumed, problems).orElseThrow();
        assertThat(ck.step()).isEqualTo(5);
        assertThat(problems).singleElement().asString().contains("step-00000007");
        try (InstructBlip m = load()) {
            Trainer t = new Trainer(m, batcher(m), quick(12), resumed);
            Checkpoints.restore(ck, t.tuned());
            t.run(records, ck.step(), null);
            t.trainable().forEach((k, v) -> assertThat(Tensors.toFloats(v)).as(k).containsExactly(expected.get(k)));
        }
    }

    @Test
    void theExportedOverlayGivesTheTunedModelsLogitsExactly(@TempDir Path dir) throws Exception {
        List<TrainingSample> records = data(dir);
        float[] tuned;
        Path pth = dir.resolve("model_weights.pth"), st = dir.resolve("model_weights.safetensors");
        Batcher.Batch batch;
        try (InstructBlip m = load()) {
            Trainer t = new Trainer(m, batcher(m), quick(5), dir);
            t.run(records, 0, null);
            Checkpoints.exportOverlay(t.trainable(), pth, st);
            t.freeze();
            batch = batcher(m).build(records);
            try (NoGradGuard g = new NoGradGuard()) {
                tuned = Tensors.toFloats(m.forward(pixels(m, records), batch.qformerInputIds(), batch.qformerAttentionMask(),
                        batch.inputIds(), batch.attentionMask()).logits());
            }
        }
        for (Path overlay : List.of(pth, st)) {
            try (InstructBlip base = InstructBlipLoader.load(ModelSource.huggingFace(hf()).withOverlay(overlay), ScalarType.Float, CPU);
                 NoGradGuard g = new NoGradGuard()) {
                float[] logits = Tensors.toFloats(base.forward(pixels(base, records), batch.qformerInputIds(), batch.qformerAttentionMask(),
                        batch.inputIds(), batch.attentionMask()).logits());
                assertThat(logits).as(overlay.toString()).containsExactly(tuned);
            }
        }
        try (var src = Safetensors.open(st)) {
            assertThat(src.keys()).contains("query_tokens", "llm_proj.weight", "ln_vision.weight",
                    "Qformer.bert.encoder.layer.0.attention.self.query.weight");
        }
    }

    @Test
    void theFeatureCacheSkipsTheVitAndTrainsTheSame(@TempDir Path dir) throws Exception {
        List<TrainingSample> records = data(dir);
        Map<String, float[]> plain = new java.util.HashMap<>();
        try (InstructBlip m = load()) {
            Trainer t = new Trainer(m, batcher(m), quick(4), dir.resolve("a"));
            Files.createDirectories(dir.resolve("a"));
            t.run(records, 0, null);
            t.trainable().forEach((k, v) -> plain.put(k, Tensors.toFloats(v)));
        }
        FeatureCache cache = new FeatureCache(dir.resolve("cache"), "tiny-eval-f32");
        try (InstructBlip m = load()) {
            Files.createDirectories(dir.resolve("b"));
            Trainer t = new Trainer(m, batcher(m), quick(4), dir.resolve("b")).withFeatureCache(cache);
            t.run(records, 0, null);
            assertThat(cache.misses()).isEqualTo(3);            // each image once, in the first epoch
            assertThat(cache.hits()).isEqualTo(3 * 3);          // then read back in the three later steps
            t.trainable().forEach((k, v) -> {
                if (k.endsWith("key.bias")) {
                    return;   // its true gradient is 0; Adam turns the rounding noise into full steps of either sign
                }
                float[] a = Tensors.toFloats(v), b = plain.get(k);
                double diff = 0, max = 0;
                for (int i = 0; i < a.length; i++) {
                    diff = Math.max(diff, Math.abs(a[i] - b[i]));
                    max = Math.max(max, Math.abs(b[i]));
                }
                assertThat(diff).as(k).isLessThanOrEqualTo(1e-4 * Math.max(max, 1e-3));   // per-image vs batched ViT: last-bit differences
            });
        }
    }

    @Test
    void bfloat16TowersWithFloat32MasterWeightsTrain(@TempDir Path dir) throws Exception {
        List<TrainingSample> records = data(dir);
        try (InstructBlip m = InstructBlipLoader.load(ModelSource.huggingFace(hf()), ScalarType.BFloat16, CPU, Trainer::isTrainable,
                Trainer::isTrainable)) {
            assertThat(m.namedParameters().get("query_tokens").scalar_type().intern()).isEqualTo(ScalarType.Float);
            assertThat(m.namedParameters().get("language_model.lm_head.weight").scalar_type().intern()).isEqualTo(ScalarType.BFloat16);
            TrainConfig fast = new TrainConfig(3e-2, 3e-2, 3e-2, 1, 0.0, 1000, 3, 1, 7, 128, 256, 0, false, 1000, 40);
            Trainer.Result r = new Trainer(m, batcher(m), fast, dir).run(records, 0, null);
            double first = r.history().get(0).loss(), last = r.history().get(r.history().size() - 1).loss();
            assertThat(last).as("loss %s -> %s", first, last).isLessThan(first * 0.9);
        }
    }

    static Tensor pixels(InstructBlip m, List<TrainingSample> records) {
        InstructBlipProcessor p = InstructBlipProcessor.load(m.config(), hf(), hf().resolve("qformer_tokenizer/vocab.txt"));
        List<org.emovit.image.RgbImage> imgs = new ArrayList<>();
        for (TrainingSample r : records) {
            imgs.add(ImageDecoder.decode(r.image()));
        }
        return p.encode(imgs, records.stream().map(TrainingSample::question).toList()).pixelValues();
    }
}
