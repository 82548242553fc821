package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.core.Emotion;
import org.emovit.core.JsonlFile;
import org.emovit.core.Prompts;
import org.emovit.image.ImageDecoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18's acceptance test, through the commands: {@code emovit train} tunes the tiny model on synthetic images
 * where a white square anywhere on its 2 x 2 patch grid means amusement and its absence sadness; then, on held-out
 * images, {@code emovit classify --heatmap} puts most of each map's mass on the square's patch, and {@code emovit
 * attribution-check} finds that deleting patches in the map's order lowers amusement's probability faster than a
 * random order. About 40 s on two cores, most of it the training steps.
 *
 * <p>The map asserted is the rollout. Grad-CAM is measured beside it (printed): on this model it fails, and that is a
 * finding, not a bug. The LM loss drives the Q-Former's cross-attention to rest almost wholly on the square's token,
 * past the point where more square still helps: the square's gradient x activation comes out negative (about -1e-3)
 * and every other patch's about 1e-12, so after Grad-CAM's ReLU no patch has positive evidence and the map is uniform
 * (mean deletion AUC about 1.05 of random's, against the rollout's 0.84). How far training saturates depends on the
 * rate and the step count (at 1e-2 for 40 steps Grad-CAM still found the square), so no Grad-CAM result is asserted
 * on it; {@code SquareAttributionTest} checks Grad-CAM on a model tuned with a classification loss.
 */
class SquareRegionTest {
    static final Emotion SQUARE = Emotion.AMUSEMENT, PLAIN = Emotion.SADNESS;
    static final int TRAINING_IMAGES = 64, STEPS = 48, PATCHES = 4, HELD_OUT_PER_PATCH = 4;
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Categorical records as EmoVIT's instruction set writes them; the square's place is drawn per image. The
     * rate: the frozen random LLM's logits can move only about ±1 (TrainerTest says why), so the signal is small
     * and 1e-2 (EmoVIT's 1e-5 is for a real Vicuna) reaches it in a few epochs; 3e-2 overshoots into maps with no
     * positive evidence left (measured: uniform maps after 30 steps).
     */
    static Path trainingSet(Path dir) throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        Random place = new Random(1);
        ArrayNode records = JSON.createArrayNode();
        for (int i = 0; i < TRAINING_IMAGES; i++) {
            boolean square = i % 2 == 0;
            int patch = square ? place.nextInt(PATCHES) : -1;
            String name = AttributionCheckCommandTest.square(images, patch, 1000 + i).getFileName().toString();
            ObjectNode r = records.addObject().put("id", Integer.toString(i)).put("image", name);
            ArrayNode turns = r.putArray("conversations");
            turns.addObject().put("from", "human").put("value", Prompts.CLASSIFICATION_INSTRUCTION);
            turns.addObject().put("from", "gpt").put("value", Prompts.answer(square ? SQUARE : PLAIN));
        }
        JSON.writeValue(dir.resolve("all.json").toFile(), records);
        Files.writeString(dir.resolve("train.yaml"), "initLr: 0.01\nminLr: 0.01\nwarmupSteps: 0\nweightDecay: 0\nbatchSize: 8\n"
                + "augment: false\nmaxEpoch: 100\n");
        return dir;
    }

    @Test
    void aModelTunedByEmovitTrainIsMappedToTheSquareThatDecidesItsEmotion(@TempDir Path dir) throws Exception {
        trainingSet(dir);
        Path run = dir.resolve("run");
        CommandsTest.Result trained = CommandsTest.run("train", "--data", dir.resolve("all.json").toString(), "--images",
                dir.resolve("images").toString(), "--out", run.toString(), "--train-config", dir.resolve("train.yaml").toString(),
                "--max-steps", Integer.toString(STEPS));
        assertThat(trained.code()).as(trained.err()).isZero();
        Path overlay = run.resolve("model_weights.safetensors");

        Path heldOut = Files.createDirectories(dir.resolve("held-out")), plain = Files.createDirectories(dir.resolve("plain"));
        Map<String, Integer> squareAt = new HashMap<>();
        for (int patch = 0; patch < PATCHES; patch++) {
            for (int k = 0; k < HELD_OUT_PER_PATCH; k++) {
                squareAt.put(AttributionCheckCommandTest.square(heldOut, patch, 9000 + 10 * patch + k).toString(), patch);
                AttributionCheckCommandTest.square(plain, -1, 9500 + 10 * patch + k);
            }
        }

        // The model: the square raises amusement against sadness wherever it is. Compared through the API, since the
        // random LLM gives both about 1e-6 (its 8 answers differ in length) and the JSON rounds to 6 digits.
        try (EmoVit emoVit = new ModelSpec(null, null, null, null, "vicuna7b", null, null, overlay.toString(), "f32", "cpu").open()) {
            double squareRatio = meanLogRatio(emoVit, heldOut), plainRatio = meanLogRatio(emoVit, plain);
            System.out.printf("log p(%s)/p(%s): %.3f with the square, %.3f without%n", SQUARE.label(), PLAIN.label(), squareRatio, plainRatio);
            assertThat(squareRatio).isGreaterThan(plainRatio + 1);
        }

        // The maps: at least half of each map's mass on the square's patch (a uniform map puts a quarter there).
        Path maps = dir.resolve("maps"), results = dir.resolve("results.jsonl");
        CommandsTest.Result classified = CommandsTest.run("classify", "--overlay", overlay.toString(), "--heatmap", maps.toString(),
                "--heatmap-method", "rollout", "--heatmap-emotion", SQUARE.label(), "--output", results.toString(), heldOut.toString());
        assertThat(classified.code()).as(classified.err()).isZero();
        List<JsonNode> lines = JsonlFile.read(results).records();
        assertThat(lines).hasSize(squareAt.size());
        for (JsonNode line : lines) {
            JsonNode map = line.get("heatmap");
            int patch = squareAt.get(line.get("image").asText());
            assertThat(map.get("emotion").asText()).isEqualTo(SQUARE.label());
            assertThat(map.get("weights").get(patch).asDouble()).as("%s: %s", line.get("image"), map.get("weights"))
                    .isGreaterThanOrEqualTo(0.5);
            assertThat(Path.of(map.get("overlay").asText())).isRegularFile();
        }

        // Faithfulness: deleting by the map lowers amusement faster than the seeded random order, never slower.
        CommandsTest.Result check = CommandsTest.run("attribution-check", "--overlay", overlay.toString(), "--emotion", SQUARE.label(),
                "--steps", Integer.toString(PATCHES), heldOut.toString());
        assertThat(check.code()).as(check.err()).isZero();
        System.out.print(check.out());
        Matcher row = Pattern.compile("(?m)^(\\S+)\\t" + SQUARE.label() + "\\t\\S+\\t\\S+\\t\\S+\\t(\\S+)\\t(\\S+)$").matcher(check.out());
        List<Double> rolloutRatios = new ArrayList<>();
        while (row.find()) {
            rolloutRatios.add(Double.parseDouble(row.group(3)));
        }
        assertThat(rolloutRatios).hasSize(squareAt.size()).allSatisfy(r -> assertThat(r).isLessThanOrEqualTo(1.01));
        Matcher mean = Pattern.compile("(?m)^mean\\t\\t\\S+\\t\\S+\\t\\S+\\t(\\S+)\\t(\\S+)$").matcher(check.out());
        assertThat(mean.find()).as(check.out()).isTrue();
        assertThat(Double.parseDouble(mean.group(2))).as("the rollout's mean deletion AUC / random's").isLessThan(0.92);
    }

    /** Mean over a folder's images of log p(SQUARE) - log p(PLAIN), score mode. */
    static double meanLogRatio(EmoVit emoVit, Path folder) throws Exception {
        double sum = 0;
        int n = 0;
        try (var files = Files.list(folder)) {
            for (Path f : files.sorted().toList()) {
                Map<String, Double> p = emoVit.classify(List.of(ImageDecoder.decode(f)), EmoVit.Mode.SCORE, null).get(0).probabilities();
                sum += Math.log(p.get(SQUARE.label())) - Math.log(p.get(PLAIN.label()));
                n++;
            }
        }
        return sum / n;
    }
}
