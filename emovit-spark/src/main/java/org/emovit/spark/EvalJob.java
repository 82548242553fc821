package org.emovit.spark;

import static org.apache.spark.sql.functions.callUDF;
import static org.apache.spark.sql.functions.col;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.emovit.eval.Datasets;
import org.emovit.eval.EvaluationReports;
import org.emovit.eval.LabelledDataset;
import org.emovit.eval.LabelledImage;
import org.emovit.eval.Metrics;
import org.emovit.eval.Prediction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code emovit spark eval}: the metrics of a classify output against labels, computed by emovit-eval's
 * {@link Metrics} from the counts Spark aggregates, so they are those {@code emovit eval} reports for the same set.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Metrics of a `spark classify` output against labels: an EmoSet split file or a folder per class "
                + "(--mapping for class names that differ from the 8 emotions).",
                "Writes OUT/metrics.json, confusion.csv, confusion.png, confusion.svg and prints accuracy, per-class "
                        + "precision/recall/F1, macro-F1 and the confusion matrix."})
public final class EvalJob implements Callable<Integer> {

    @Mixin SessionOptions session;

    @Option(names = "--input", required = true, paramLabel = "PARQUET", description = "The output of spark classify.")
    String input;

    @Option(names = "--labels", required = true, paramLabel = "DIR|split.json", description = "The labelled set the images came from.")
    Path labels;

    @Option(names = "--mapping", paramLabel = "FILE", description = "Class name -> emotion label (JSON object or CSV lines name,label).")
    Path mapping;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where to write the metrics and confusion matrix.")
    Path out;

    @Spec CommandSpec spec;

    private static final StructType LABELS = new StructType()
            .add("key", DataTypes.StringType, false)
            .add("gold", DataTypes.StringType, true);

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        LabelledDataset ds = Datasets.open(labels, mapping);
        if (!ds.problems().isEmpty()) {
            spec.commandLine().getErr().printf(Locale.ROOT, "%d dataset entries skipped, e.g.: %s%n", ds.problems().size(), ds.problems().get(0));
        }
        Metrics metrics;
        try (SessionOptions.Session s = session.open("emovit eval")) {
            metrics = metrics(s.spark(), ds, o);
        }
        EvaluationReports.write(metrics, out);
        o.println(metrics.toTable());
        o.printf(Locale.ROOT, "written: %s (%s)%n", out, String.join(", ", EvaluationReports.FILES));
        o.flush();
        return 0;
    }

    /**
     * Joins the predictions with the labels by file and counts (gold, predicted, failed) in Spark; only those few
     * counts come back to the driver, where they become the metrics.
     */
    private Metrics metrics(SparkSession spark, LabelledDataset ds, PrintWriter o) {
        spark.udf().register("emovit_path_key", new PathKey(), DataTypes.StringType);
        List<Row> gold = new ArrayList<>();
        for (LabelledImage item : ds.items()) {
            gold.add(RowFactory.create(PathKey.of(item.image().toString()), item.goldLabel()));
        }
        Dataset<Row> labelled = spark.createDataFrame(gold, LABELS);
        Dataset<Row> predicted = spark.read().parquet(input)
                .select(callUDF("emovit_path_key", col("path")).as("key"), col("emotion"), col("error"))
                .dropDuplicates("key");
        Dataset<Row> joined = labelled.join(predicted, "key");
        List<Row> counts = joined.groupBy(col("gold"), col("emotion"), col("error").isNotNull().as("failed")).count().collectAsList();
        List<Prediction> predictions = new ArrayList<>();
        long matched = 0;
        for (Row r : counts) {
            long n = r.<Long>getAs("count");
            matched += n;
            boolean failed = r.getAs("failed");
            Prediction p = new Prediction(null, null, r.getAs("gold"), failed ? null : r.getAs("emotion"), Map.of(), null,
                    failed ? "failed" : null);
            predictions.addAll(Collections.nCopies((int) n, p));
        }
        if (matched < ds.items().size()) {
            o.printf(Locale.ROOT, "%d of %d labelled image(s) are not in %s (not counted)%n", ds.items().size() - matched, ds.items().size(), input);
        }
        return Metrics.of(predictions);
    }
}
