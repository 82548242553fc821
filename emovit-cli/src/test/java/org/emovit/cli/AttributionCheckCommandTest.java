package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.NoGradGuard;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.attribution.Attribution;
import org.emovit.attribution.Faithfulness;
import org.emovit.core.Emotion;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** emovit attribution-check on the embedded tiny model: the numbers it prints are the deletion checks of both maps. */
class AttributionCheckCommandTest {

    /** A grey noisy 28 x 28 image with one 14 x 14 quadrant white (the tiny model's 2 x 2 patch grid). */
    @Test
    void explainsTheEmotionAskedForInsteadOfThePredictedOne(@TempDir Path dir) throws Exception {
        Path f = square(dir, 2, 5);
        CommandsTest.Result r = CommandsTest.run("attribution-check", "--steps", "2", "--emotion", "fear", f.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("(?m)^" + java.util.regex.Pattern.quote(f.toString()) + "\tfear\t");
        CommandsTest.Result bad = CommandsTest.run("attribution-check", "--emotion", "joy", f.toString());
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("--emotion").contains("joy");
    }

    /**
     * Issue 26, case 3: --steps 100000 was clamped to 4 in silence, and --steps 0 was refused only after the model had
     * loaded, blamed on the image. Both are now one line naming the option, before the model loads (no model note).
     */
    @Test
    void stepsOutsideThePatchGridAreRefusedNamingTheOptionBeforeTheModelLoads(@TempDir Path dir) throws Exception {
        Path f = square(dir, 2, 5);
        for (String steps : List.of("0", "-3", "5", "100000")) {
            CommandsTest.Result r = CommandsTest.run("attribution-check", "--steps", steps, f.toString());
            assertThat(r.code()).as(steps).isEqualTo(1);
            assertThat(r.err().strip()).isEqualTo("emovit: --steps must be 1..4 (the model's 2x2 patches), got " + steps);
            assertThat(r.out()).isEmpty();
        }
        CommandsTest.Result unset = CommandsTest.run("attribution-check", f.toString());
        assertThat(unset.code()).as(unset.err()).isZero();
        assertThat(unset.out()).contains("2x2 patches, 4 deletion steps");
    }

    static Path square(Path dir, int patch, int seed) throws Exception {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                int v = (y / 14) * 2 + x / 14 == patch ? 255 : 70 + r.nextInt(40);
                img.setRGB(x, y, (v << 16) | (v << 8) | v);
            }
        }
        Path f = dir.resolve("square-" + patch + "-" + seed + ".png");
        ImageIO.write(img, "png", f.toFile());
        return f;
    }

    @Test
    void printsEachImagesDeletionAucsTheMeansAndTheWinner(@TempDir Path dir) throws Exception {
        Path images = Files.createDirectories(dir.resolve("squares"));
        List<Path> files = List.of(square(images, 0, 1), square(images, 3, 2), square(images, 1, 3));
        Files.writeString(images.resolve("notes.txt"), "not an image");

        CommandsTest.Result r = CommandsTest.run("attribution-check", "--steps", "4", images.toString());

        assertThat(r.code()).as(r.err()).isEqualTo(2);   // the text file, reported after the rest
        assertThat(r.err()).contains("notes.txt");
        assertThat(r.out()).contains("4 file(s), 2x2 patches, 4 deletion steps");
        double gradCamRatio = 0, rolloutRatio = 0;
        try (NoGradGuard noGrad = new NoGradGuard(); EmoVit emoVit = ModelSpec.embedded().open()) {
            Attribution attribution = new Attribution(emoVit);
            for (Path f : files) {
                String line = r.out().lines().filter(l -> l.startsWith(f.toString() + "\t")).findFirst().orElseThrow();
                String[] cells = line.split("\t");
                RgbImage image = ImageDecoder.decode(f);
                Emotion e = emoVit.classify(List.of(image), EmoVit.Mode.SCORE, null).get(0).emotion();
                assertThat(cells[1]).isEqualTo(e.label());
                Faithfulness.Deletion g = Faithfulness.deletionAuc(emoVit, image, e, attribution.gradCam(image, e), 4);
                Faithfulness.Deletion o = Faithfulness.deletionAuc(emoVit, image, e, attribution.rollout(image, e), 4);
                assertThat(Double.parseDouble(cells[2])).isCloseTo(g.mapAuc(), within(1e-3 * g.mapAuc()));
                assertThat(Double.parseDouble(cells[3])).isCloseTo(o.mapAuc(), within(1e-3 * o.mapAuc()));
                assertThat(Double.parseDouble(cells[4])).isCloseTo(g.randomAuc(), within(1e-3 * g.randomAuc()));
                gradCamRatio += g.mapAuc() / g.randomAuc();
                rolloutRatio += o.mapAuc() / o.randomAuc();
            }
        }
        String mean = r.out().lines().filter(l -> l.startsWith("mean\t")).findFirst().orElseThrow();
        assertThat(Double.parseDouble(mean.split("\t")[5])).isCloseTo(gradCamRatio / 3, within(2e-3));
        assertThat(Double.parseDouble(mean.split("\t")[6])).isCloseTo(rolloutRatio / 3, within(2e-3));
        String winner = Math.abs(gradCamRatio - rolloutRatio) / 3 < 1e-3 ? "neither, a tie" : gradCamRatio < rolloutRatio ? "grad-cam" : "rollout";
        assertThat(r.out()).contains("more faithful: " + winner);
    }
}
