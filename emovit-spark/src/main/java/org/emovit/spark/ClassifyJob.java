package org.emovit.spark;

import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.emovit.cli.ClassificationOptions;
import org.emovit.generate.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.generate.ModelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code emovit spark classify}: the emotion and the 8 probabilities of every image, as Parquet. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = {"Classify images into the 8 emotions on Spark (score mode by default).",
                "Output: Parquet with path, sha256, emotion, p_<emotion> x 8, generated, explanation, error, model, dtype.",
                "Unreadable images are rows with an error; --resume skips images already in --output."})
public final class ClassifyJob implements Callable<Integer> {

    @Mixin SessionOptions session;
    @Mixin InputOptions input;
    @Mixin OutputOptions output;
    @Mixin ClassificationOptions classification;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        ModelSpec m = classification.model().spec();
        m.scalarType();   // a bad --dtype is reported here, once, not by every task
        try (SessionOptions.Session s = session.open("emovit classify")) {
            ResultWriter.Report r = run(s.spark());
            return Reports.print(spec.commandLine().getOut(), "classified", output.output, r);
        }
    }

    /** Reads, skips what is done (--resume), classifies and writes. */
    ResultWriter.Report run(SparkSession spark) {
        return new ResultWriter(spark, output).write(input, this::classify);
    }

    /** The classification of a table of images ({@link ImageInput}'s columns) as {@link ResultSchema#CLASSIFY} rows. */
    Dataset<Row> classify(Dataset<Row> images) {
        EmoVit.Mode m = classification.mode();
        GenerationConfig explain = classification.explanation();
        return images.mapPartitions(new ClassifyPartitions(classification.model().spec(), m,
                Decoding.of(classification.generation().config()), explain == null ? null : Decoding.of(explain),
                classification.batchSize(), input.maxPixels), Encoders.row(ResultSchema.CLASSIFY));
    }
}
