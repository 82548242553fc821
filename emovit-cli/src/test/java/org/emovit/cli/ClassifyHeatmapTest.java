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
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("x.heatmap.png", "x-2.heatmap.png");
        }
    }

    @Test
    void rolloutOnRequestAndAnUnknownMethodIsOneLineNamingTheOption(@TempDir Path dir) throws Exception {
        Path a = ClassifyEvalTest.png(dir.resolve("a.png"), 3);
        CommandsTest.Result r = CommandsTest.run("classify", "--heatmap", dir.resolve("maps").toString(), "--heatmap-method", "rollout", a.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode heatmap = ClassifyEvalTest.JSON.readTree(r.out().lines().findFirst().orElseThrow()).get("heatmap");
        assertThat(heatmap.get("method").asText()).isEqualTo("rollout");
        weights(heatmap);
        assertThat(dir.resolve("maps/a.heatmap.png")).isNotEmptyFile();

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
}
