package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.attribution.Attribution;
import org.emovit.attribution.PatchMap;
import org.emovit.core.Emotion;
import org.emovit.image.ImageDecoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** classify --heatmap on the embedded tiny model: an overlay per image, and the grid Attribution gives, in the JSON. */
class ClassifyHeatmapTest {

    /** The weights as written, checked to be a distribution over the grid. */
    static float[] weights(JsonNode heatmap) {
        int side = heatmap.get("side").asInt();
        assertThat(heatmap.get("weights").size()).isEqualTo(side * side);
        float[] w = new float[side * side];
        double sum = 0;
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) heatmap.get("weights").get(i).asDouble();
            assertThat(w[i]).isGreaterThanOrEqualTo(0f);
            sum += w[i];
        }
        assertThat(sum).isCloseTo(1.0, within(1e-5));
        return w;
    }

    @Test
    void eachImageGetsAnOverlayAndAttributionsGridWhileABadImageFailsAlone(@TempDir Path dir) throws Exception {
        Path a = ClassifyEvalTest.png(dir.resolve("in/a/x.png"), 1);
        Path b = ClassifyEvalTest.png(dir.resolve("in/b/x.png"), 2);   // the same file name: two overlays all the same
        Files.writeString(dir.resolve("in/broken.jpg"), "not an image");
        Path maps = dir.resolve("maps");
        Path out = dir.resolve("out.jsonl");
        CommandsTest.Result r = CommandsTest.run("classify", "--heatmap", maps.toString(), "--output", out.toString(), dir.resolve("in").toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);

        Map<String, JsonNode> lines = new HashMap<>();
        for (JsonNode n : ClassifyEvalTest.lines(out)) {
            lines.put(n.get("image").asText(), n);
        }
        assertThat(lines.get(dir.resolve("in/broken.jpg").toString()).get("error").asText()).contains("broken.jpg");
        try (EmoVit reference = ModelSpec.embedded().open()) {
            Attribution attribution = new Attribution(reference);
            for (Path image : new Path[] {a, b}) {
                JsonNode line = lines.get(image.toString());
                JsonNode heatmap = line.get("heatmap");
                assertThat(heatmap.get("method").asText()).isEqualTo("grad-cam");
                assertThat(heatmap.get("emotion").asText()).isEqualTo(line.get("emotion").asText());
                assertThat(heatmap.get("side").asInt()).isEqualTo(attribution.gridSide());
                PatchMap want = attribution.gradCam(ImageDecoder.decode(image), Emotion.fromLabel(line.get("emotion").asText()).orElseThrow());
                float[] got = weights(heatmap);
                for (int i = 0; i < got.length; i++) {
                    assertThat(got[i]).as("patch " + i + " of " + image).isCloseTo(want.weights()[i], within(1e-6f));
                }
                Path overlay = Path.of(heatmap.get("overlay").asText());
                assertThat(overlay.getParent()).isEqualTo(maps);
                BufferedImage png = ImageIO.read(overlay.toFile());
                assertThat(png.getWidth()).isEqualTo(32);   // the image's own size
                assertThat(png.getHeight()).isEqualTo(24);
            }
        }
        assertThat(lines.get(a.toString()).get("heatmap").get("overlay").asText())
                .isNotEqualTo(lines.get(b.toString()).get("heatmap").get("overlay").asText());
        try (var files = Files.list(maps)) {
            assertThat(files.map(p -> p.getFileName().toString())).hasSize(2).allMatch(n -> n.matches("x\\.[0-9a-f]{16}\\.heatmap\\.png"));
        }
    }

    /** The line of each image in a results file, by key. */
    private static Map<String, JsonNode> byImage(Path out) throws Exception {
        Map<String, JsonNode> lines = new HashMap<>();
        for (JsonNode n : ClassifyEvalTest.lines(out)) {
            assertThat(lines.put(n.get("image").asText(), n)).as("one line per image").isNull();
        }
        return lines;
    }

    private static Path overlay(JsonNode line) {
        return Path.of(line.get("heatmap").get("overlay").asText());
    }

    /**
     * Issue 26, case 1: b/x.png mapped, then a resumed run of a/x.png and b/x.png. a's map used to replace b's file;
     * now each file is named from its image's key and holds it, and a resume redoes a map that is missing or another's.
     */
    @Test
    void aResumedRunNeverOverwritesAnotherImagesMapAndRedoesAMissingOrForeignOne(@TempDir Path dir) throws Exception {
        Path a = ClassifyEvalTest.png(dir.resolve("a/x.png"), 1);
        Path b = ClassifyEvalTest.png(dir.resolve("b/x.png"), 2);
        Path maps = dir.resolve("maps");
        Path out = dir.resolve("out.jsonl");
        CommandsTest.Result first = CommandsTest.run("classify", "--heatmap", maps.toString(), "--output", out.toString(), b.toString());
        assertThat(first.code()).as(first.err()).isZero();
        Path bMap = overlay(byImage(out).get(b.toString()));
        byte[] bBytes = Files.readAllBytes(bMap);

        CommandsTest.Result resumed = CommandsTest.run("classify", "--heatmap", maps.toString(), "--output", out.toString(), a.toString(), b.toString());
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("1 image(s) already in");
        Map<String, JsonNode> lines = byImage(out);
        Path aMap = overlay(lines.get(a.toString()));
        assertThat(aMap).isNotEqualTo(bMap);
        assertThat(overlay(lines.get(b.toString()))).isEqualTo(bMap);
        assertThat(Files.readAllBytes(bMap)).as("b's map untouched").isEqualTo(bBytes);
        assertThat(PngText.read(aMap, HeatmapFiles.KEY_ENTRY)).contains(a.toString());
        assertThat(PngText.read(bMap, HeatmapFiles.KEY_ENTRY)).contains(b.toString());
        assertThat(ImageIO.read(aMap.toFile()).getWidth()).isEqualTo(32);   // still a PNG with the entry added
        byte[] aBytes = Files.readAllBytes(aMap);

        // b's map gone, and a's file replaced by b's map (what an earlier version's resume left): both are redone
        Files.delete(bMap);
        Files.write(aMap, bBytes);
        CommandsTest.Result again = CommandsTest.run("classify", "--heatmap", maps.toString(), "--output", out.toString(), a.toString(), b.toString());
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).doesNotContain("already in");
        lines = byImage(out);
        assertThat(lines).hasSize(2);
        assertThat(Files.readAllBytes(overlay(lines.get(a.toString())))).isEqualTo(aBytes);
        assertThat(Files.readAllBytes(overlay(lines.get(b.toString())))).isEqualTo(bBytes);

        // all in place: nothing to redo
        CommandsTest.Result done = CommandsTest.run("classify", "--heatmap", maps.toString(), "--output", out.toString(), a.toString(), b.toString());
        assertThat(done.code()).as(done.err()).isZero();
        assertThat(done.err()).contains("2 image(s) already in");
    }

    @Test
    void rolloutOnRequestAndAnUnknownMethodIsOneLineNamingTheOption(@TempDir Path dir) throws Exception {
        Path a = ClassifyEvalTest.png(dir.resolve("a.png"), 3);
        CommandsTest.Result r = CommandsTest.run("classify", "--heatmap", dir.resolve("maps").toString(), "--heatmap-method", "rollout", a.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode heatmap = ClassifyEvalTest.JSON.readTree(r.out().lines().findFirst().orElseThrow()).get("heatmap");
        assertThat(heatmap.get("method").asText()).isEqualTo("rollout");
        weights(heatmap);
        assertThat(Path.of(heatmap.get("overlay").asText())).isNotEmptyFile().hasParent(dir.resolve("maps"));

        CommandsTest.Result bad = CommandsTest.run("classify", "--heatmap", dir.resolve("maps").toString(), "--heatmap-method", "saliency", a.toString());
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("--heatmap-method").contains("saliency").contains("grad-cam");
    }

    @Test
    void anEmotionOtherThanThePredictedOneIsMappedOnRequestAndABadLabelIsOneLineNamingTheOption(@TempDir Path dir) throws Exception {
        Path a = ClassifyEvalTest.png(dir.resolve("a.png"), 3);
        CommandsTest.Result r = CommandsTest.run("classify", "--heatmap", dir.resolve("maps").toString(), "--heatmap-emotion", "Fear", a.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode line = ClassifyEvalTest.JSON.readTree(r.out().lines().findFirst().orElseThrow());
        assertThat(line.get("emotion").asText()).isNotEqualTo("fear");   // the embedded model predicts another one
        assertThat(line.get("heatmap").get("emotion").asText()).isEqualTo("fear");
        weights(line.get("heatmap"));

        CommandsTest.Result bad = CommandsTest.run("classify", "--heatmap", dir.resolve("maps").toString(), "--heatmap-emotion", "joy", a.toString());
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err().strip()).isEqualTo("emovit: --heatmap-emotion must be one of the 8 (" + String.join(", ",
                org.emovit.core.Emotion.labels()) + "), not 'joy'");
        CommandsTest.Result alone = CommandsTest.run("classify", "--heatmap-emotion", "fear", a.toString());
        assertThat(alone.code()).isNotZero();
        assertThat(alone.err()).contains("--heatmap-emotion only applies with --heatmap DIR");
    }

    /** Issue 26, case 3: --heatmap-method without --heatmap was ignored; it is refused, as --heatmap-emotion is. */
    @Test
    void aHeatmapMethodWithoutHeatmapIsRefusedNamingTheOption(@TempDir Path dir) throws Exception {
        Path a = ClassifyEvalTest.png(dir.resolve("a.png"), 3);
        CommandsTest.Result alone = CommandsTest.run("classify", "--heatmap-method", "rollout", a.toString());
        assertThat(alone.code()).isNotZero();
        assertThat(alone.err().strip()).isEqualTo("emovit: --heatmap-method only applies with --heatmap DIR");
        assertThat(alone.out()).isEmpty();
    }
}
