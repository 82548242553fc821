package org.emovit.spark;

import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;
import org.emovit.options.CaptionOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code emovit spark caption}: the data pipeline's caption stage over many images, as Parquet. */
@Command(name = "caption", mixinStandardHelpOptions = true,
        description = {"Caption images on Spark: InstructBLIP with the caption instruction (the model options), or the seed's "
                + "BLIP-2 OPT with --blip2 DIR. The same captions as `emovit data caption`.",
                "Output: Parquet with path, sha256, caption, error, model, dtype; --resume skips images already in --output."})
public final class CaptionJob implements Callable<Integer> {

    @Mixin SessionOptions session;
    @Mixin InputOptions input;
    @Mixin OutputOptions output;
    @Mixin CaptionOptions captioning;

    @Option(names = "--batch-size", defaultValue = "4", description = "Images per generate call (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        ModelSpec m = captioning.model().spec();
        m.scalarType();
        try (SessionOptions.Session s = session.open("emovit caption")) {
            return Reports.print(spec.commandLine().getOut(), "captioned", output.output, run(s.spark()));
        }
    }

    ResultWriter.Report run(SparkSession spark) {
        return new ResultWriter(spark, output).write(input, this::caption);
    }

    /** The captions of a table of images ({@link ImageInput}'s columns) as {@link ResultSchema#CAPTION} rows. */
    Dataset<Row> caption(Dataset<Row> images) {
        // the decoding `emovit data caption` uses: beams and length from the options, no penalties
        GenerationConfig decoding = captioning.decoding();
        String dir = captioning.blip2() == null ? null : captioning.blip2().toAbsolutePath().toString();
        return images.mapPartitions(new CaptionPartitions(captioning.model().spec(), dir, captioning.prompt(), decoding, batchSize,
                input.maxPixels),
                Encoders.row(ResultSchema.CAPTION));
    }
}
