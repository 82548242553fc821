package org.emovit.spark;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Retried tasks and resumed runs leave every image in the output exactly once. */
class ExactlyOnceTest {

    private static ClassifyJob job(String... args) {
        ClassifyJob job = new ClassifyJob();
        new CommandLine(job).parseArgs(args);
        return job;
    }

    private static void assertEachImageOnce(SparkSession spark, String out, int images) {
        List<Row> rows = spark.read().parquet(out).select(col("sha256"), col("path")).collectAsList();
        assertThat(rows).hasSize(images);
        assertThat(rows.stream().map(r -> r.getString(0)).distinct()).hasSize(images);
        assertThat(rows.stream().map(r -> r.getString(1)).distinct()).hasSize(images);
    }

    @Test
    void aTaskThatFailsOnItsFirstAttemptIsRetriedAndWritesItsRowsOnce(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        TestImages.pngs(images, 40, 1000);
        SparkSession spark = TestSpark.session();
        String out = dir.resolve("out.parquet").toString();
        ClassifyJob job = job("--input", images.toString(), "--output", out, "--partitions", "2");
        int before = InjectedFailure.FAILURES.get();

        ResultWriter writer = new ResultWriter(spark, job.output);
        ResultWriter.Report r = writer.write(job.input, pending -> job.classify(pending).mapPartitions(InjectedFailure.firstAttempt(7), Encoders.row(ResultSchema.CLASSIFY)));

        assertThat(InjectedFailure.FAILURES.get()).isEqualTo(before + 1);
        assertThat(r.written()).isEqualTo(40);
        assertEachImageOnce(spark, out, 40);
    }

    @Test
    void resumeFinishesWhatAnEarlierRunLeftAndARerunDoesNothing(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        TestImages.pngs(images, 30, 2000);
        TestImages.broken(images);
        SparkSession spark = TestSpark.session();
        String out = dir.resolve("out.parquet").toString();

        // the run that stopped halfway: it got through folder a/ (15 images) only
        ResultWriter.Report first = job("--input", images.resolve("a").toString(), "--output", out).run(spark);
        assertThat(first.written()).isEqualTo(15);

        ResultWriter.Report resumed = job("--input", images.toString(), "--output", out, "--resume").run(spark);
        assertThat(resumed.written()).isEqualTo(20);   // b/ (15) and the 5 broken files
        assertThat(resumed.errors()).isEqualTo(5);
        assertEachImageOnce(spark, out, 35);

        ResultWriter.Report again = job("--input", images.toString(), "--output", out, "--resume").run(spark);
        assertThat(again.written()).isZero();
        assertThat(again.total()).isEqualTo(35);
        assertEachImageOnce(spark, out, 35);

        // without --resume or --overwrite an existing output is never touched
        assertThat(SparkMain.run("classify", "--input", images.toString(), "--output", out)).isEqualTo(1);
        assertEachImageOnce(spark, out, 35);
    }

    @Test
    void resumingWithOtherColumnsIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        TestImages.pngs(images, 6, 3000);
        SparkSession spark = TestSpark.session();
        String out = dir.resolve("out.parquet").toString();
        assertThat(job("--input", images.resolve("a").toString(), "--output", out).run(spark).written()).isEqualTo(3);

        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                        job("--input", images.toString(), "--output", out, "--resume", "--heatmap", "rollout").run(spark))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(out + " was written with other options: this run adds the columns [heatmap_method, heatmap_emotion, heatmap]"
                        + " (e.g. --heatmap): resume with the options that wrote it, or give --overwrite");
        assertEachImageOnce(spark, out, 3);
        assertThat(job("--input", images.toString(), "--output", out, "--resume").run(spark).written()).isEqualTo(3);
        assertEachImageOnce(spark, out, 6);
    }
}
