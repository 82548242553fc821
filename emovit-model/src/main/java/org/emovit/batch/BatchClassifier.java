package org.emovit.batch;

import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.core.Errors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.emovit.attribution.Attribution;
import org.emovit.attribution.HeatmapRequest;
import org.emovit.attribution.PatchMap;
import org.emovit.core.ProgressBar;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;

/**
 * Classifies many images in batches. An image that cannot be read fails alone (its error is reported and
 * the rest of the batch goes on); a batch that fails inside the model is retried image by image, so only the
 * image that fails is lost, and the run goes on. Running out of Java heap (a huge image under a small -Xmx) is
 * such a per-item failure too, never the end of the run: what was computed is kept.
 */
public final class BatchClassifier {

    public record Item(String id, Path image) {}

    /** A patch map with the image it maps, to draw its overlay on. */
    public record Heatmap(PatchMap map, RgbImage image) {}

    /**
     * What became of an item: its result (null when it failed), the explanation asked for, the heat map asked for
     * (null without one, or when the answer is none of the 8, so there is no emotion to map), or the error.
     */
    public record Outcome(Item item, EmoVit.Result result, String explanation, Heatmap heatmap, String error) {
        static Outcome failed(Item item, String error) {
            return new Outcome(item, null, null, null, error);
        }
    }

    private final EmoVit classifier;
    private final EmoVit.Mode mode;
    private final GenerationConfig generation;
    private final int batchSize;
    private GenerationConfig explanation;
    private HeatmapRequest heatmaps;
    private Attribution attribution;

    public BatchClassifier(EmoVit classifier, EmoVit.Mode mode, GenerationConfig generation, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be at least 1");
        }
        this.classifier = classifier;
        this.mode = mode;
        this.generation = generation;
        this.batchSize = batchSize;
    }

    /** Also explain each prediction, decoding with these settings (null: no explanations). */
    public BatchClassifier explaining(GenerationConfig settings) {
        this.explanation = settings;
        return this;
    }

    /** Also map each image as asked (null: no maps). */
    public BatchClassifier mapping(HeatmapRequest request) {
        this.heatmaps = request;
        this.attribution = request == null ? null : new Attribution(classifier);
        return this;
    }

    public void run(List<Item> items, Consumer<Outcome> sink, ProgressBar progress) {
        for (int start = 0; start < items.size(); start += batchSize) {
            List<Item> chunk = items.subList(start, Math.min(items.size(), start + batchSize));
            List<Item> readable = new ArrayList<>();
            List<RgbImage> images = new ArrayList<>();
            for (Item item : chunk) {
                try {
                    images.add(ImageDecoder.decode(item.image()));
                    readable.add(item);
                } catch (RuntimeException | OutOfMemoryError e) {
                    sink.accept(Outcome.failed(item, Errors.forUser(e)));
                    step(progress, true);
                }
            }
            if (readable.isEmpty()) {
                continue;
            }
            classify(readable, images, sink, progress);
        }
    }

    private void classify(List<Item> items, List<RgbImage> images, Consumer<Outcome> sink, ProgressBar progress) {
        List<EmoVit.Classified> results;
        try {
            results = classifier.classify(images, mode, generation, explanation);
        } catch (RuntimeException | OutOfMemoryError e) {
            if (items.size() > 1) {
                for (int i = 0; i < items.size(); i++) {
                    classify(List.of(items.get(i)), List.of(images.get(i)), sink, progress);
                }
                return;
            }
            sink.accept(Outcome.failed(items.get(0), "classification failed: " + Errors.forUser(e)));
            step(progress, true);
            return;
        }
        for (int i = 0; i < items.size(); i++) {
            EmoVit.Result result = results.get(i).result();
            Heatmap heatmap;
            try {
                heatmap = heatmap(images.get(i), result);
            } catch (RuntimeException | OutOfMemoryError e) {
                // the image's line says so and a rerun tries it again, map included
                sink.accept(Outcome.failed(items.get(i), "heat map failed: " + Errors.forUser(e)));
                step(progress, true);
                continue;
            }
            sink.accept(new Outcome(items.get(i), result, results.get(i).explanation(), heatmap, null));
            step(progress, false);
        }
    }

    /** The map asked for, one image at a time (a backward pass per image), or null. */
    private Heatmap heatmap(RgbImage image, EmoVit.Result result) {
        PatchMap map = heatmaps == null ? null : heatmaps.map(attribution, image, result);
        return map == null ? null : new Heatmap(map, image);
    }

    private static void step(ProgressBar progress, boolean failed) {
        if (progress != null) {
            progress.step(failed);
        }
    }
}
