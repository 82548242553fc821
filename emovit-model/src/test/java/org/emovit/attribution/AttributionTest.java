package org.emovit.attribution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.emovit.core.Prompts;
import org.emovit.generate.CandidateScorer;
import org.emovit.model.InstructBlipInputs;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.core.Emotion;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.model.VisionConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Patch maps, their overlay and the deletion check on the embedded tiny model (random weights: shapes, not meaning). */
class AttributionTest {
    static EmoVit emoVit;
    static Attribution attribution;
    static RgbImage photo;

    @BeforeAll
    static void open() {
        emoVit = ModelSpec.embedded().open();
        attribution = new Attribution(emoVit);
        photo = ImageDecoder.decode(EmbeddedModel.sample("photo.jpg"));
    }

    @AfterAll
    static void close() {
        emoVit.close();
    }

    static RgbImage noise(int width, int height, int seed) {
        byte[] rgb = new byte[width * height * 3];
        new java.util.Random(seed).nextBytes(rgb);
        return new RgbImage(width, height, rgb);
    }

    static void assertDistributionOverTheGrid(PatchMap map) {
        VisionConfig v = emoVit.model().config().vision();
        assertThat(map.side()).isEqualTo(v.imageSize() / v.patchSize());
        float[] w = map.weights();
        assertThat(w).hasSize(map.side() * map.side());
        double sum = 0;
        for (float x : w) {
            assertThat(x).isGreaterThanOrEqualTo(0f).isLessThanOrEqualTo(1f);
            sum += x;
        }
        assertThat(sum).isCloseTo(1.0, within(1e-5));
    }

    @Test
    void gradCamIsADistributionOverThePatchGridForAnyOfTheEight() {
        for (Emotion e : List.of(Emotion.values()[0], Emotion.values()[Emotion.values().length - 1])) {
            PatchMap map = attribution.gradCam(photo, e);
            assertDistributionOverTheGrid(map);
            assertThat(map.emotion()).isEqualTo(e);
            assertThat(map.method()).isEqualTo(PatchMap.Method.GRAD_CAM);
        }
        assertDistributionOverTheGrid(attribution.gradCam(noise(40, 30, 1), Emotion.values()[3]));
    }

    /** log-likelihood of the emotion's answer with image token {@code token} of the ViT's output scaled by {@code factor}. */
    static double logLikelihoodWithTokenScaled(RgbImage image, Emotion e, int token, double factor) {
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            InstructBlipInputs inputs = emoVit.processor().encode(List.of(image), List.of(Prompts.CLASSIFICATION_INSTRUCTION));
            Tensor features = emoVit.model().encodeImage(inputs.pixelValues()).clone();
            features.select(1, token).mul_(new Scalar(factor));
            return new CandidateScorer(emoVit.model().languageModel())
                    .logLikelihoods(emoVit.model().prefillInputs(features, inputs), List.of(emoVit.answer(e)))[0][0];
        }
    }

    @Test
    void gradientTimesActivationIsTheDerivativeOfScalingEachToken() {
        Emotion e = Emotion.values()[6];
        float[] raw = attribution.gradientTimesActivation(photo, e);
        assertThat(raw).hasSize(attribution.gridSide() * attribution.gridSide() + 1);
        double eps = 1e-2;
        for (int token = 0; token < raw.length; token++) {
            double numeric = (logLikelihoodWithTokenScaled(photo, e, token, 1 + eps)
                    - logLikelihoodWithTokenScaled(photo, e, token, 1 - eps)) / (2 * eps);
            System.out.printf("token %d: grad x activation %.6g, central difference %.6g%n", token, raw[token], numeric);
            assertThat((double) raw[token]).as("token " + token).isCloseTo(numeric, within(1e-3 + 1e-2 * Math.abs(numeric)));
        }
    }

    /**
     * The checkpointed backward pass (Attribution's) against plain autograd keeping every layer's activations: the
     * same operations recomputed, so the same gradient.
     */
    @Test
    void checkpointedGradientIsPlainAutogradsGradient() {
        for (RgbImage image : List.of(photo, noise(40, 30, 2))) {
            Emotion e = Emotion.values()[2];
            float[] checkpointed = attribution.gradientTimesActivation(image, e);
            float[] plain;
            try (PointerScope scope = new PointerScope(); org.bytedeco.pytorch.AutoGradMode grad = new org.bytedeco.pytorch.AutoGradMode(true)) {
                InstructBlipInputs inputs = emoVit.processor().encode(List.of(image), List.of(Prompts.CLASSIFICATION_INSTRUCTION));
                Tensor features;
                try (NoGradGuard noGrad = new NoGradGuard()) {
                    features = emoVit.model().encodeImage(inputs.pixelValues());
                }
                Tensor leaf = features.detach().clone().requires_grad_(true);
                new CandidateScorer(emoVit.model().languageModel())
                        .logLikelihoodTensor(emoVit.model().prefillInputs(leaf, inputs), List.of(emoVit.answer(e))).sum().backward();
                plain = Tensors.toFloats(leaf.grad().mul(leaf.detach()).sum(new long[] {-1}));
            }
            float max = 0;
            for (float v : plain) {
                max = Math.max(max, Math.abs(v));
            }
            assertThat(max).as("a gradient that is not all zero").isGreaterThan(0f);
            for (int i = 0; i < plain.length; i++) {
                assertThat(checkpointed[i]).as("token " + i).isCloseTo(plain[i], within(1e-5f * max));
            }
        }
    }

    @Test
    void theOneAnswerLogLikelihoodIsScoreModes() {
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            PrefillInputs prefill = emoVit.prefill(List.of(photo), List.of(Prompts.CLASSIFICATION_INSTRUCTION));
            List<long[]> all = new java.util.ArrayList<>();
            for (Emotion e : Emotion.values()) {
                all.add(emoVit.answer(e));
            }
            CandidateScorer scorer = new CandidateScorer(emoVit.model().languageModel());
            double[] eight = scorer.logLikelihoods(prefill, all)[0];
            for (Emotion e : Emotion.values()) {
                float[] one = Tensors.toFloats(scorer.logLikelihoodTensor(prefill, List.of(emoVit.answer(e))));
                assertThat((double) one[0]).as(e.label()).isCloseTo(eight[e.ordinal()], within(1e-4));
            }
        }
    }

    @Test
    void gradCamKeepsNoGradientOnTheFrozenWeights() {
        attribution.gradCam(photo, Emotion.values()[2]);
        Map<String, Tensor> parameters = emoVit.model().namedParameters();
        assertThat(parameters).isNotEmpty();
        for (Map.Entry<String, Tensor> p : parameters.entrySet()) {
            assertThat(p.getValue().requires_grad()).as(p.getKey()).isFalse();
            assertThat(p.getValue().grad().defined()).as(p.getKey() + " has a gradient").isFalse();
        }
    }

    @Test
    void gradCamRunsUnderTheCallersNoGradGuard() {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            assertDistributionOverTheGrid(attribution.gradCam(photo, Emotion.values()[1]));
        }
    }

    @Test
    void rolloutIsADistributionThatDoesNotDependOnTheEmotion() {
        PatchMap a = attribution.rollout(photo, Emotion.values()[0]);
        PatchMap b = attribution.rollout(photo, Emotion.values()[5]);
        assertDistributionOverTheGrid(a);
        assertThat(a.method()).isEqualTo(PatchMap.Method.ROLLOUT);
        assertThat(b.emotion()).isEqualTo(Emotion.values()[5]);
        assertThat(b.weights()).containsExactly(a.weights());
    }

    @Test
    void rolloutLeavesNoProbeInstalled() {
        attribution.rollout(photo, Emotion.values()[0]);
        // a second score-mode call must not pay for the probe: classification still works and matches
        EmoVit.Result r = emoVit.classify(List.of(photo), EmoVit.Mode.SCORE, null).get(0);
        assertThat(r.probabilities()).hasSize(8);
    }

    @Test
    void overlayPngHasTheImagesSize(@TempDir Path dir) throws Exception {
        for (RgbImage image : List.of(photo, noise(40, 30, 2), noise(3, 5, 3))) {
            Path file = dir.resolve("overlay-" + image.width() + "x" + image.height() + ".png");
            attribution.rollout(image, Emotion.values()[0]).overlayPng(image, file);
            assertThat(Files.size(file)).isPositive();
            BufferedImage read = ImageIO.read(file.toFile());
            assertThat(read.getWidth()).isEqualTo(image.width());
            assertThat(read.getHeight()).isEqualTo(image.height());
        }
    }

    @Test
    void overlayShowsTheHeaviestPatchInTheHottestColour() {
        // a 2 x 2 map with all weight top-left: the top-left pixel is red-ish, the bottom-right blue-ish
        RgbImage grey = new RgbImage(20, 20, new byte[20 * 20 * 3]);
        PatchMap map = new PatchMap(2, new float[] {1, 0, 0, 0}, Emotion.values()[0], PatchMap.Method.GRAD_CAM);
        BufferedImage out = Overlay.render(grey, map);
        int topLeft = out.getRGB(0, 0), bottomLeft = out.getRGB(0, 19);
        assertThat((topLeft >> 16) & 0xFF).isGreaterThan(topLeft & 0xFF);
        assertThat(bottomLeft & 0xFF).isGreaterThan((bottomLeft >> 16) & 0xFF);
    }

    @Test
    void deletionCurvesAreComputedForBothOrders() {
        Emotion e = Emotion.values()[4];
        PatchMap map = attribution.gradCam(photo, e);
        int patches = map.side() * map.side();
        Faithfulness.Deletion d = Faithfulness.deletionAuc(emoVit, photo, e, map, patches);
        assertThat(d.mapCurve()).hasSize(patches + 1);
        assertThat(d.randomCurve()).hasSize(patches + 1);
        for (double[] curve : List.of(d.mapCurve(), d.randomCurve())) {
            for (double p : curve) {
                assertThat(p).isFinite().isBetween(0.0, 1.0);
            }
        }
        // nothing masked: score mode's own probability; everything masked: the same image in both orders
        double unmasked = emoVit.classify(List.of(photo), EmoVit.Mode.SCORE, null).get(0).probabilities().get(e.label());
        assertThat(d.mapCurve()[0]).isCloseTo(unmasked, within(1e-4));
        assertThat(d.randomCurve()[0]).isCloseTo(unmasked, within(1e-4));
        assertThat(d.mapCurve()[patches]).isCloseTo(d.randomCurve()[patches], within(1e-5));
        assertThat(d.mapAuc()).isFinite().isBetween(0.0, 1.0);
        assertThat(d.randomAuc()).isFinite().isBetween(0.0, 1.0);
        assertThat(Faithfulness.deletionAuc(emoVit, photo, e, map, patches).randomAuc()).isEqualTo(d.randomAuc());   // seeded
    }

    /** kB of a /proc/self/status line (VmRSS, VmHWM), or -1 off Linux. */
    static long statusKb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception ignored) {
            // not Linux: no measurement
        }
        return -1;
    }

    /** The cost of one map, printed for the record (a measurement, not a limit: the tiny model is a few MB). */
    @Test
    void oneMapsTimeAndPeakMemory() throws Exception {
        Emotion e = Emotion.values()[0];
        attribution.gradCam(photo, e);   // warm-up: lazy native initialisation
        attribution.rollout(photo, e);
        emoVit.classify(List.of(photo), EmoVit.Mode.SCORE, null);
        for (String method : List.of("gradCam", "rollout", "classify")) {
            System.gc();
            long before = statusKb("VmRSS");
            try {
                Files.writeString(Path.of("/proc/self/clear_refs"), "5");   // resets VmHWM to the current RSS
            } catch (Exception ignored) {
                // not Linux
            }
            int n = 5;
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                switch (method) {
                    case "gradCam" -> assertDistributionOverTheGrid(attribution.gradCam(photo, e));
                    case "rollout" -> assertDistributionOverTheGrid(attribution.rollout(photo, e));
                    default -> emoVit.classify(List.of(photo), EmoVit.Mode.SCORE, null);   // for scale: score mode alone
                }
            }
            double ms = (System.nanoTime() - start) / 1e6 / n;
            System.out.printf("%s on the tiny model: %.1f ms per image, peak RSS %d kB above the %d kB before%n",
                    method, ms, statusKb("VmHWM") - before, before);
        }
    }

    @Test
    void deletionAreaIsTheTrapezoidRule() {
        assertThat(Faithfulness.area(new double[] {1, 0})).isEqualTo(0.5);
        assertThat(Faithfulness.area(new double[] {1, 1, 1})).isEqualTo(1.0);
        assertThat(Faithfulness.area(new double[] {1, 0.5, 0})).isEqualTo(0.5);
    }
}
