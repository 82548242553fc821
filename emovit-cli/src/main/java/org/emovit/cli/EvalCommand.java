package org.emovit.cli;

import org.emovit.options.ClassificationOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.emovit.eval.EvaluationRun;
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
        options.check();
        EvaluationRun.Outcome r = EvaluationRun.run(new EvaluationRun.Settings(options.model().spec(), options::classifier, dataset, mapping,
                out, limit, fresh, options.provenance()), spec.commandLine().getErr());
        o.println(r.metrics().toTable());
        o.printf(Locale.ROOT, "this run: %d image(s) in %.1f s (%.2f images/s), %d failed%n", r.processed(), r.seconds(),
                r.processed() / Math.max(r.seconds(), 1e-9), r.failures());
        o.printf(Locale.ROOT, "written: %s (predictions.jsonl, metrics.json, confusion.csv, confusion.png, confusion.svg)%n", r.dir());
        return r.failures() > 0 ? 2 : 0;
    }
}
