package org.emovit.devtools;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.bytedeco.pytorch.NoGradGuard;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.attribution.Attribution;
import org.emovit.attribution.Faithfulness;
import org.emovit.attribution.PatchMap;
import org.emovit.core.Emotion;
import org.emovit.core.Errors;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.model.VisionConfig;
import org.emovit.options.ModelOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Which attribution method is more faithful on a set of images: for each image, the predicted emotion's Grad-CAM and
 * rollout maps, each put to the deletion check ({@link Faithfulness}) against the same seeded random order; the
 * ratio of the map's deletion AUC to the random order's says how much faster the map's order lowers the
 * probability (below 1 beats random; lower is more faithful). The means over the set decide the winner.
 */
@Command(name = "attribution-check", mixinStandardHelpOptions = true,
        description = {"Deletion check of Grad-CAM and rollout maps of each image's predicted emotion (or --emotion) over a set of images: per image and mean deletion AUC "
                + "by the map and in a random order, and which method is more faithful (lower AUC relative to random).",
                "Every file under a directory is read; one that is not a readable image is reported at the end (exit code 2)."})
public final class AttributionCheckCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--steps", paramLabel = "N",
            description = "Points per deletion curve after the first, 1 to the model's patch count (default: " + DEFAULT_STEPS
                    + ", or the patch count when the model has fewer, as the tiny model's 4). Each curve is N + 1 score-mode forwards.")
    Integer steps;

    /** Steps when none are asked for (at most the patch count). */
    static final int DEFAULT_STEPS = 16;

    @Option(names = "--seed", defaultValue = "" + Faithfulness.DEFAULT_SEED, description = "Seed of the random order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--emotion", paramLabel = "LABEL",
            description = "Explain this emotion in every image (one of the 8) instead of each image's predicted one.")
    String emotion;

    @Parameters(arity = "1..*", paramLabel = "IMAGES", description = "Image files or directories.")
    List<Path> inputs;

    @Spec
    CommandSpec spec;

    /**
     * Two AUC ratios closer than this are a tie: it is a thousandth of the random order's AUC, below what the
     * probabilities' float32 rounding and the maps' equal orderings (a coarse grid ranks patches alike) can separate.
     */
    static final double TIE = 1e-3;

    /** One image's check: its predicted emotion and each method's deletion. */
    record Checked(Path file, Emotion emotion, Faithfulness.Deletion gradCam, Faithfulness.Deletion rollout) {}

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        // options first: a mistyped one is the only line the user sees
        Emotion chosen = emotion == null ? null : Emotion.parse(emotion, "--emotion");
        ModelSpec spec = modelOptions.spec();
        int n = checkedSteps(steps, spec.sizes().vision());
        if (modelOptions.isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        List<Path> files = files(inputs);
        List<Checked> checked = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        try (NoGradGuard noGrad = new NoGradGuard(); EmoVit emoVit = spec.open()) {
            Attribution attribution = new Attribution(emoVit);
            out.printf(Locale.ROOT, "%d file(s), %dx%d patches, %d deletion steps, random order seed %d%n", files.size(),
                    attribution.gridSide(), attribution.gridSide(), n, seed);
            out.println("image\temotion\tgrad-cam AUC\trollout AUC\trandom AUC\tgrad-cam/random\trollout/random");
            for (Path f : files) {
                try {
                    Checked c = check(emoVit, attribution, f, n, chosen);
                    checked.add(c);
                    out.printf(Locale.ROOT, "%s\t%s\t%.4g\t%.4g\t%.4g\t%.3f\t%.3f%n", f, c.emotion().label(), c.gradCam().mapAuc(),
                            c.rollout().mapAuc(), c.gradCam().randomAuc(), ratio(c.gradCam()), ratio(c.rollout()));
                } catch (RuntimeException e) {
                    failures.add(f + ": " + Errors.firstLine(e));
                }
                out.flush();
            }
        }
        if (!checked.isEmpty()) {
            summarise(out, checked);
        }
        failures.forEach(f -> err.println("emovit: " + f));
        return failures.isEmpty() ? 0 : 2;
    }

    /**
     * --steps checked against the model's patch grid, read from its config before any weight loads: out of 1..patches
     * it is an error naming the option, never clamped (the curve would not have the points asked for); unset, the
     * default within the grid.
     */
    static int checkedSteps(Integer steps, VisionConfig vision) {
        int side = vision.imageSize() / vision.patchSize(), patches = side * side;
        if (steps == null) {
            return Math.min(DEFAULT_STEPS, patches);
        }
        if (steps < 1 || steps > patches) {
            throw new IllegalArgumentException("--steps must be 1.." + patches + " (the model's " + side + "x" + side + " patches), got " + steps);
        }
        return steps;
    }

    /**
     * The chosen emotion (null: the predicted one, score mode), both maps of it, and both deletion checks with the
     * same random order.
     */
    private Checked check(EmoVit emoVit, Attribution attribution, Path file, int n, Emotion chosen) {
        RgbImage image = ImageDecoder.decode(file);
        Emotion emotion = chosen != null ? chosen : emoVit.classify(List.of(image), EmoVit.Mode.SCORE, null).get(0).emotion();
        PatchMap gradCam = attribution.gradCam(image, emotion), rollout = attribution.rollout(image, emotion);
        return new Checked(file, emotion, Faithfulness.deletionAuc(emoVit, image, emotion, gradCam, n, seed),
                Faithfulness.deletionAuc(emoVit, image, emotion, rollout, n, seed));
    }

    /** The map's deletion AUC relative to the random order's: below 1, the map's order lowers the probability faster. */
    static double ratio(Faithfulness.Deletion d) {
        return d.mapAuc() / d.randomAuc();
    }

    private static void summarise(PrintWriter out, List<Checked> checked) {
        double g = 0, r = 0, random = 0, gRatio = 0, rRatio = 0;
        int gBeats = 0, rBeats = 0;
        for (Checked c : checked) {
            g += c.gradCam().mapAuc();
            r += c.rollout().mapAuc();
            random += c.gradCam().randomAuc();
            gRatio += ratio(c.gradCam());
            rRatio += ratio(c.rollout());
            gBeats += c.gradCam().beatsRandom() ? 1 : 0;
            rBeats += c.rollout().beatsRandom() ? 1 : 0;
        }
        int n = checked.size();
        out.printf(Locale.ROOT, "mean\t\t%.4g\t%.4g\t%.4g\t%.3f\t%.3f%n", g / n, r / n, random / n, gRatio / n, rRatio / n);
        out.printf(Locale.ROOT, "beats random: grad-cam on %d of %d image(s), rollout on %d of %d%n", gBeats, n, rBeats, n);
        int gLower = 0, rLower = 0;
        for (Checked c : checked) {
            gLower += ratio(c.gradCam()) < ratio(c.rollout()) - TIE ? 1 : 0;
            rLower += ratio(c.rollout()) < ratio(c.gradCam()) - TIE ? 1 : 0;
        }
        out.printf(Locale.ROOT, "lower AUC: grad-cam on %d image(s), rollout on %d, within %.3f of each other on %d%n", gLower, rLower, TIE,
                n - gLower - rLower);
        String means = String.format(Locale.ROOT, "mean deletion AUC relative to random: grad-cam %.4f, rollout %.4f; lower = more faithful",
                gRatio / n, rRatio / n);
        out.println("more faithful: " + (Math.abs(gRatio - rRatio) / n < TIE ? "neither, a tie within " + TIE + " (" + means + ")"
                : (gRatio < rRatio ? "grad-cam" : "rollout") + " (" + means + ")"));
    }

    /** The files named, and every regular file under the directories named, in order. */
    static List<Path> files(List<Path> inputs) {
        List<Path> out = new ArrayList<>();
        for (Path p : inputs) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> walk = Files.walk(p)) {
                    walk.filter(Files::isRegularFile).sorted().forEach(out::add);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot list " + p + ": " + e.getMessage(), e);
                }
            } else {
                out.add(p);   // a missing file is reported for that item, after the rest
            }
        }
        return out;
    }
}
