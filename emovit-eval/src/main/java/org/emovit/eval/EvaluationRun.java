package org.emovit.eval;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.emovit.core.EmotionJson;
import org.emovit.core.ProgressBar;
import org.emovit.batch.BatchClassifier;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;

/**
 * One evaluation run, whatever front door starts it ({@code emovit eval} only parses its options into
 * {@link Settings}): the labelled set read, the images not yet predicted in the output folder classified (a rerun
 * resumes; predictions of another model, mode or set are refused unless {@code fresh}), and the metrics, the
 * confusion matrix and its pictures written over every prediction of the set.
 */
public final class EvaluationRun {
    private EvaluationRun() {}

    /**
     * What a run needs.
     *
     * @param classifier the batch classifier over the opened model (mode, decoding, batch size, explanations)
     * @param out        null: {@code eval-<set name>}
     * @param limit      the first N images only (0: all)
     * @param provenance what produced the predictions (the model, mode, ...): the set and mapping are added
     */
    public record Settings(ModelSpec model, Function<EmoVit, BatchClassifier> classifier, Path dataset, Path mapping, Path out,
                           int limit, boolean fresh, Map<String, String> provenance) {}

    /** What the run did. */
    public record Outcome(Path dir, Metrics metrics, int processed, int failures, double seconds) {}

    /** Runs it; progress and notices go to {@code err}. */
    public static Outcome run(Settings s, PrintWriter err) throws Exception {
        LabelledDataset ds = Datasets.open(s.dataset(), s.mapping());
        Path dir = s.out() != null ? s.out() : Path.of("eval-" + ds.name());
        Files.createDirectories(dir);
        if (!ds.problems().isEmpty()) {
            err.printf(Locale.ROOT, "%d dataset entries skipped, e.g.: %s%n", ds.problems().size(), ds.problems().get(0));
        }
        if (s.model().isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        List<LabelledImage> items = ds.items();
        if (s.limit() > 0 && items.size() > s.limit()) {
            items = items.subList(0, s.limit());
        }
        if (items.isEmpty()) {
            throw new IllegalArgumentException("nothing to evaluate in " + s.dataset() + (ds.problems().isEmpty() ? ""
                    : " (" + ds.problems().size() + " entries skipped, e.g.: " + ds.problems().get(0) + ")"));
        }
        Map<String, String> provenance = new java.util.LinkedHashMap<>(s.provenance());
        provenance.put("dataset", s.dataset().toAbsolutePath().normalize().toString());
        provenance.put("mapping", s.mapping() == null ? "none" : s.mapping().toAbsolutePath().normalize().toString());
        Map<String, LabelledImage> byId = new HashMap<>();
        long started = System.nanoTime();
        try (PredictionsFile predictions = PredictionsFile.open(dir.resolve("predictions.jsonl"), provenance, s.fresh())) {
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
            int[] failed = {0};
            if (!todo.isEmpty()) {
                try (EmoVit emovit = s.model().open();
                     ProgressBar progress = new ProgressBar("eval", todo.size(), System.err)) {
                    s.classifier().apply(emovit).run(todo, outcome -> {
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
                throw new IllegalStateException("no image of " + s.dataset() + " could be evaluated (" + failed[0]
                        + " failed; see " + dir.resolve("predictions.jsonl") + ")");
            }
            EvaluationReports.write(metrics, dir);
            return new Outcome(dir, metrics, todo.size(), failed[0], seconds);
        }
    }
}
