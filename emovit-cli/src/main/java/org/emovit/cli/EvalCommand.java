package org.emovit.cli;

import org.emovit.options.ClassificationOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.emovit.core.EmotionJson;
import org.emovit.core.ProgressBar;
import org.emovit.eval.ConfusionMatrixPlot;
import org.emovit.eval.Datasets;
import org.emovit.eval.LabelledDataset;
import org.emovit.eval.LabelledImage;
import org.emovit.eval.Metrics;
import org.emovit.eval.Prediction;
import org.emovit.eval.PredictionsFile;
import org.emovit.generate.EmbeddedModel;
import org.emovit.generate.EmoVit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Accuracy of the model on a labelled set, with the predictions, metrics and confusion matrix on disk. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate on a labelled set: an EmoSet split file (test.json/val.json/train.json) or a folder per class "
                + "(FI, Emotion6, WEBEmo style; --mapping for class names that differ from the 8 emotions).",
                "Writes OUT/predictions.jsonl, metrics.json, confusion.csv, confusion.png and confusion.svg; prints accuracy, "
                        + "per-class precision/recall/F1, macro-F1 and the confusion matrix.",
                "Resumable: a rerun with the same --out skips the images already predicted."})
public final class EvalCommand implements Callable<Integer> {

    @Mixin
    ClassificationOptions options;

    @Option(names = "--fresh", description = "Start over when --out holds predictions of another model, mode or dataset (otherwise that is an error).")
    boolean fresh;

    @Option(names = "--dataset", required = true, paramLabel = "DIR|split.json")
    Path dataset;

    @Option(names = "--mapping", paramLabel = "FILE", description = "Class name -> emotion label (JSON object or CSV lines name,label).")
    Path mapping;

    @Option(names = "--out", paramLabel = "DIR", description = "Output directory (default: eval-<dataset name>).")
    Path out;

    @Option(names = "--limit", defaultValue = "0", description = "Evaluate only the first N images (0 = all).")
    int limit;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        LabelledDataset ds = Datasets.open(dataset, mapping);
        Path dir = out != null ? out : Path.of("eval-" + ds.name());
        Files.createDirectories(dir);
        if (!ds.problems().isEmpty()) {
            err.printf(Locale.ROOT, "%d dataset entries skipped, e.g.: %s%n", ds.problems().size(), ds.problems().get(0));
        }
        if (options.model().isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        List<LabelledImage> items = ds.items();
        if (limit > 0 && items.size() > limit) {
            items = items.subList(0, limit);
        }
        if (items.isEmpty()) {
            throw new IllegalArgumentException("nothing to evaluate in " + dataset + (ds.problems().isEmpty() ? ""
                    : " (" + ds.problems().size() + " entries skipped, e.g.: " + ds.problems().get(0) + ")"));
        }
        Map<String, String> provenance = options.provenance();
        provenance.put("dataset", dataset.toAbsolutePath().normalize().toString());
        provenance.put("mapping", mapping == null ? "none" : mapping.toAbsolutePath().normalize().toString());
        Map<String, LabelledImage> byId = new HashMap<>();
        int failures;
        long started = System.nanoTime();
        int processed;
        try (PredictionsFile predictions = PredictionsFile.open(dir.resolve("predictions.jsonl"), provenance, fresh)) {
            Set<String> done = predictions.done();
            List<BatchClassifier.Item> todo = new ArrayList<>();
            for (LabelledImage item : items) {
                byId.put(item.id(), item);
                if (!done.contains(item.id())) {
                    todo.add(new BatchClassifier.Item(item.id(), item.image()));
                }
            }
            if (todo.size() < items.size()) {
                err.printf(Locale.ROOT, "%d of %d image(s) already predicted in %s, skipped%n", items.size() - todo.size(), items.size(), dir);
            }
            processed = todo.size();
            int[] failed = {0};
            if (!todo.isEmpty()) {
                try (EmoVit emovit = options.model().spec().open();
                     ProgressBar progress = new ProgressBar("eval", todo.size(), System.err)) {
                    BatchClassifier.of(options, emovit).run(todo, outcome -> {
                        LabelledImage item = byId.get(outcome.item().id());
                        EmoVit.Result r = outcome.result();
                        if (outcome.error() != null) {
                            failed[0]++;
                        }
                        predictions.append(new Prediction(item.id(), item.image().toString(), item.goldLabel(),
                                r == null ? null : r.label(), r == null ? Map.of() : EmotionJson.probabilities(r.probabilities()),
                                r == null ? null : (outcome.explanation() != null ? outcome.explanation() : r.generated()), outcome.error()));
                    }, progress);
                }
            }
            failures = failed[0];
            double seconds = (System.nanoTime() - started) / 1e9;
            List<Prediction> all = new ArrayList<>();
            Set<String> wanted = byId.keySet();
            for (Prediction p : predictions.all()) {
                if (wanted.contains(p.id())) {   // a --limit run after a larger one reports on its own images
                    all.add(p);
                }
            }
            Metrics metrics = Metrics.of(all);
            if (metrics.total() == 0) {
                throw new IllegalStateException("no image of " + dataset + " could be evaluated (" + failures
                        + " failed; see " + dir.resolve("predictions.jsonl") + ")");
            }
            metrics.writeJson(dir.resolve("metrics.json"));
            metrics.writeCsv(dir.resolve("confusion.csv"));
            ConfusionMatrixPlot.writePng(metrics, dir.resolve("confusion.png"));
            ConfusionMatrixPlot.writeSvg(metrics, dir.resolve("confusion.svg"));
            o.println(metrics.toTable());
            o.printf(Locale.ROOT, "this run: %d image(s) in %.1f s (%.2f images/s), %d failed%n", processed, seconds,
                    processed / Math.max(seconds, 1e-9), failures);
            o.printf(Locale.ROOT, "written: %s (predictions.jsonl, metrics.json, confusion.csv, confusion.png, confusion.svg)%n", dir);
        }
        return failures > 0 ? 2 : 0;
    }
}
