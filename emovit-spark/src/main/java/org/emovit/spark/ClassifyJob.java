package org.emovit.spark;

import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.emovit.api.EmoVit;
import org.emovit.options.ClassificationOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code emovit spark classify}: the emotion and the 8 probabilities of every image, as Parquet. The classifying is
 * {@link EmoVitClassifier}'s, built from the options; this job reads the images, resumes and writes.
 */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = {"Classify images into the 8 emotions on Spark (score mode by default).",
                "Output: Parquet with path, sha256, emotion, p_<emotion> x 8, generated, explanation, error, model, dtype",
                "(with --heatmap also heatmap_method, heatmap_emotion and heatmap: the patch grid's weights, row-major, summing to 1).",
                "Unreadable images are rows with an error; --resume skips images already in --output."})
public final class ClassifyJob implements Callable<Integer> {

    @Mixin SessionOptions session;
    @Mixin InputOptions input;
    @Mixin OutputOptions output;
    @Mixin ClassificationOptions classification;

    @Option(names = "--heatmap", arity = "0..1", fallbackValue = "grad-cam", paramLabel = "METHOD",
            description = "Add where in each image the predicted emotion comes from: a weight per patch of the ViT's grid "
                    + "(16 x 16 at 224 px), computed on the executors. METHOD: grad-cam (default; a backward pass through the "
                    + "model) or rollout (the Q-Former's attention, no backward pass).")
    String heatmap;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        classification.check();   // options that cannot change the result, a bad --dtype or --heatmap: reported here, once, before Spark starts
        classification.model().spec().scalarType();
        if (heatmap != null) {
            org.emovit.attribution.PatchMap.Method.parse(heatmap, "--heatmap");
        }
        try (SessionOptions.Session s = session.open("emovit classify")) {
            ResultWriter.Report r = run(s.spark());
            return Reports.print(spec.commandLine().getOut(), "classified", output.output, r);
        }
    }

    /** Reads, skips what is done (--resume), classifies and writes. */
    ResultWriter.Report run(SparkSession spark) {
        return new ResultWriter(spark, output).write(input, this::classify);
    }

    /** The transformer these options describe. */
    EmoVitClassifier classifier() {
        return new EmoVitClassifier()
                .setModelSpec(classification.model().spec())
                .setMode(classification.mode() == EmoVit.Mode.SCORE ? "score" : "generate")
                .setGeneration(classification.generation().config())
                .setBatchSize(classification.batchSize())
                .setExplain(classification.explanation() != null)
                .setExplainTokens(classification.explainTokens())
                .setMaxPixels(input.maxPixels)
                .setHeatmap(heatmap);
    }

    /** The classification of a table of images ({@link ImageInput}'s columns) as {@link ResultSchema#CLASSIFY} rows. */
    Dataset<Row> classify(Dataset<Row> images) {
        return classifier().transform(images);
    }
}
