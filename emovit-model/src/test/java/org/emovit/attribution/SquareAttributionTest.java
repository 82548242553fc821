package org.emovit.attribution;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.emovit.api.EmoVit;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.InstructBlipProcessor;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.ModelSource;
import org.emovit.core.Emotion;
import org.emovit.core.Prompts;
import org.emovit.generate.CandidateScorer;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlipInputs;
import org.emovit.model.Tensors;
import org.junit.jupiter.api.Test;

/**
 * Grad-CAM on a model that needs it: tune the tiny model's Q-Former and projection (what EmoVIT tunes; the ViT and the LLM
 * stay frozen) with a 2-way classification loss until a bright square, anywhere on the grid, means one emotion and its
 * absence another (the same task through {@code emovit train}'s LM loss, in emovit-cli's SquareRegionTest, saturates
 * the attention so far that Grad-CAM loses the square and only the rollout finds it); then the
 * Grad-CAM map of that emotion must put its largest weight on the square's patch, and deleting patches by the map
 * must lower the emotion's probability faster than deleting them at random. Tuned on the two answers only, the
 * random LLM still prefers other labels among the 8, so the absolute probabilities are small (about 3e-6); what is
 * checked is how they move. About a minute on two CPU cores, nearly all of it the 40 tuning steps.
 */
class SquareAttributionTest {
    static final int STEPS = 40;
    static final Emotion SQUARE = Emotion.values()[0], PLAIN = Emotion.values()[7];

    /** A size x size grey image with noise; with {@code patch >= 0}, that patch of the grid painted white. */
    static RgbImage image(int size, int patchSize, int patch, Random r) {
        int side = size / patchSize;
        byte[] rgb = new byte[size * size * 3];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                boolean inSquare = patch >= 0 && y / patchSize == patch / side && x / patchSize == patch % side;
                for (int c = 0; c < 3; c++) {
                    rgb[(y * size + x) * 3 + c] = (byte) (inSquare ? 255 : 70 + r.nextInt(40));
                }
            }
        }
        return new RgbImage(size, size, rgb);
    }

    @Test
    void gradCamFindsTheSquareTheModelWasTunedOn() {
        // the tuned tensors get their own memory: the embedded model's file is mapped read-only
        java.nio.file.Path dir = EmbeddedModel.directory();
        InstructBlip model = InstructBlipLoader.load(ModelSource.huggingFace(dir), ScalarType.Float, new Device("cpu"),
                SquareAttributionTest::tuned);
        try (EmoVit emoVit = new EmoVit(model, InstructBlipProcessor.load(model.config(), dir, dir.resolve("qformer_tokenizer/vocab.txt")))) {
            int size = emoVit.model().config().vision().imageSize(), patchSize = emoVit.model().config().vision().patchSize();
            int patches = (size / patchSize) * (size / patchSize);
            long start = System.nanoTime();
            tune(emoVit, size, patchSize, patches);
            System.out.printf("tuned in %.1f s%n", (System.nanoTime() - start) / 1e9);
            saveTunedIfAsked(emoVit);

            Attribution attribution = new Attribution(emoVit);
            Random r = new Random(7);
            double mapAuc = 0, randomAuc = 0, rolloutAuc = 0;
            for (int patch = 0; patch < patches; patch++) {
                RgbImage img = image(size, patchSize, patch, r);
                EmoVit.Result result = emoVit.classify(List.of(img), EmoVit.Mode.SCORE, null).get(0);
                assertThat(result.probabilities().get(SQUARE.label())).as("the tuned model with the square at " + patch)
                        .isGreaterThan(result.probabilities().get(PLAIN.label()));
                PatchMap map = attribution.gradCam(img, SQUARE);
                int top = 0;
                for (int i = 1; i < patches; i++) {
                    top = map.weights()[i] > map.weights()[top] ? i : top;
                }
                assertThat(top).as("the heaviest patch with the square at " + patch).isEqualTo(patch);
                // the criterion: at least half the map's mass on the square (uniform would put 1/4 there)
                assertThat(map.weights()[patch]).as("the map's mass on the square at " + patch).isGreaterThanOrEqualTo(0.5f);
                Faithfulness.Deletion d = Faithfulness.deletionAuc(emoVit, img, SQUARE, map, patches);
                mapAuc += d.mapAuc();
                randomAuc += d.randomAuc();
                // measured beside Grad-CAM, not asserted: which method is more faithful is the finding, not a requirement
                rolloutAuc += Faithfulness.deletionAuc(emoVit, img, SQUARE, attribution.rollout(img, SQUARE), patches).mapAuc();
                System.out.printf("square at %d: map %s, p(%s) %.4g, deletion by the map %s, at random %s%n", patch,
                        java.util.Arrays.toString(map.weights()), SQUARE.label(), result.probabilities().get(SQUARE.label()),
                        java.util.Arrays.toString(d.mapCurve()), java.util.Arrays.toString(d.randomCurve()));
            }
            System.out.printf("deletion AUC: by the map %.4g, at random %.4g, by the rollout map %.4g (mean over square positions)%n",
                    mapAuc / patches, randomAuc / patches, rolloutAuc / patches);
            // by the map the square goes first and the probability drops at once (about 10x); at random it goes later
            assertThat(mapAuc).isLessThan(0.75 * randomAuc);
        }
    }

    /**
     * With {@code -Demovit.squareOverlay=FILE.safetensors}, writes the tuned tensors as an overlay (--overlay), so the
     * commands can be run on the square model, e.g. {@code emovit attribution-check --overlay FILE DIR}.
     */
    static void saveTunedIfAsked(EmoVit emoVit) {
        String file = System.getProperty("emovit.squareOverlay");
        if (file == null) {
            return;
        }
        Map<String, org.emovit.weights.RawTensor> out = new java.util.TreeMap<>();
        emoVit.model().namedParameters().forEach((k, t) -> {
            if (tuned(k)) {
                out.put(k, Tensors.toRawF32(t.detach()));
            }
        });
        org.emovit.weights.Safetensors.write(java.nio.file.Path.of(file), out, Map.of("producer", "SquareAttributionTest"));
        System.out.println("wrote the tuned tensors to " + file);
    }

    /** What EmoVIT tunes, less ln_vision (this test keeps the whole ViT frozen). */
    static boolean tuned(String key) {
        return key.startsWith("qformer.") || key.equals("query_tokens") || key.startsWith("language_projection.");
    }

    /** AdamW on the Q-Former, query tokens and projection: the 2-way score-mode cross-entropy, square or plain. */
    static void tune(EmoVit emoVit, int size, int patchSize, int patches) {
        TensorVector trainable = new TensorVector();
        List<Tensor> tuned = new ArrayList<>();
        for (Map.Entry<String, Tensor> p : emoVit.model().namedParameters().entrySet()) {
            if (tuned(p.getKey())) {
                p.getValue().requires_grad_(true);
                trainable.push_back(p.getValue());
                tuned.add(p.getValue());
            }
        }
        AdamW optimizer = new AdamW(trainable, new AdamWOptions(5e-3));
        // the two answers only: moving a random LLM's preference among all 8 through 4 soft tokens takes far longer
        List<long[]> answers = List.of(emoVit.answer(SQUARE), emoVit.answer(PLAIN));
        Random r = new Random(1);
        int batch = 8;
        try (AutoGradMode grad = new AutoGradMode(true)) {
            for (int step = 0; step < STEPS; step++) {
                try (PointerScope scope = new PointerScope()) {
                    List<RgbImage> images = new ArrayList<>();
                    long[] labels = new long[batch];
                    for (int i = 0; i < batch; i++) {
                        boolean square = i % 2 == 0;
                        images.add(image(size, patchSize, square ? r.nextInt(patches) : -1, r));
                        labels[i] = square ? 0 : 1;
                    }
                    InstructBlipInputs inputs = emoVit.processor().encode(images,
                            Collections.nCopies(batch, Prompts.CLASSIFICATION_INSTRUCTION));
                    Tensor features;
                    try (NoGradGuard noGrad = new NoGradGuard()) {
                        features = emoVit.model().encodeImage(inputs.pixelValues());
                    }
                    Tensor ll = new CandidateScorer(emoVit.model().languageModel())
                            .logLikelihoodTensor(emoVit.model().prefillInputs(features, inputs), answers);
                    Tensor loss = torch.cross_entropy(ll, Tensors.fromLongs(labels, batch));
                    loss.backward();
                    optimizer.step();
                    optimizer.zero_grad();
                    if (step % 10 == 0) {
                        System.out.printf("step %d loss %.4f%n", step, Tensors.toFloats(loss)[0]);
                    }
                }
            }
        }
        tuned.forEach(t -> t.requires_grad_(false));
    }
}
