package org.emovit.spark;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Observation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * The one way results reach storage: Spark's DataFrame writer, whose commit protocol publishes a task's file only
 * when that attempt commits, and the job's files only when the job commits. A retried task or a speculative copy
 * therefore never leaves a second row, and a job that dies leaves nothing of its own. The images go in chunks of
 * {@code --commit-every}, one write job each, so a run stopped midway keeps the chunks it committed. {@code --resume}
 * makes a job of what is left: images whose SHA-256 is already in the output are dropped before the model sees them.
 */
final class ResultWriter {

    /** @param written rows this run added, @param errors of which with an error, @param total rows in the output now */
    record Report(long written, long errors, long total) {}

    private final SparkSession spark;
    private final OutputOptions options;
    private final int chunkSize;
    /** The output as it was when the run started (null without --resume or output): the images not to do again. */
    private final Dataset<Row> done;
    private final long rowsBefore;

    ResultWriter(SparkSession spark, OutputOptions options) {
        this.spark = spark;
        this.options = options;
        this.chunkSize = options.commitEvery();
        boolean exists = exists();
        if (exists && !options.resume && !options.overwrite) {
            throw new IllegalArgumentException(options.output + " already exists: give --resume to finish it or --overwrite to replace it");
        }
        // Read once: the file listing is taken now, so the chunks this run commits do not count as done for the
        // later ones (two files with the same bytes are both written, as in one job).
        this.done = exists && options.resume ? spark.read().parquet(options.output) : null;
        this.rowsBefore = done == null ? 0 : done.count();
    }

    /** The images of one chunk still to do: all of them, or with --resume those not yet in the output. */
    Dataset<Row> pending(Dataset<Row> images) {
        if (rowsBefore == 0) {
            return images;
        }
        // The done set is one hash per image: broadcast it, so the image bytes are never shuffled for the join.
        Dataset<Row> byHash = broadcast(done.where(col("sha256").isNotNull()).select(col("sha256").as("done_sha256")).distinct());
        Dataset<Row> left = images.join(byHash, images.col("sha256").equalTo(byHash.col("done_sha256")), "left_anti");
        // Rows without bytes (a path that could not be read) have no hash; they are matched by path instead.
        Dataset<Row> byPath = broadcast(done.where(col("sha256").isNull()).select(col("path").as("done_path")).distinct());
        return left.join(byPath, left.col("sha256").isNull().and(left.col("path").equalTo(byPath.col("done_path"))), "left_anti");
    }

    /**
     * Processes the input's pending images chunk by chunk and commits each chunk's results as its own write job:
     * the first with the run's mode (refuse an existing output, --overwrite, --resume's append), the later ones
     * appending. A chunk with nothing pending is skipped without loading the model, so a rerun of a finished job
     * adds no empty files.
     */
    Report write(InputOptions input, UnaryOperator<Dataset<Row>> process) {
        SaveMode mode = options.resume ? SaveMode.Append : options.overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists;
        long written = 0;
        long errors = 0;
        for (Dataset<Row> chunk : ImageInput.chunks(spark, input, chunkSize)) {
            Dataset<Row> pending = pending(chunk);
            if (rowsBefore > 0 && pending.isEmpty()) {
                continue;
            }
            Dataset<Row> results = process.apply(pending);
            if (rowsBefore > 0 && written == 0) {
                requireSameColumns(results);
            }
            Report r = writeChunk(results, mode);
            written += r.written();
            errors += r.errors();
            mode = SaveMode.Append;
        }
        return new Report(written, errors, rowsBefore + written);
    }

    /**
     * A resumed run appends rows of the output's own columns: other options (--heatmap on a run that had none, or the
     * other way) would leave a Parquet folder whose files disagree, which readers then merge or refuse. Checked on the
     * plan, before anything is computed or written.
     */
    private void requireSameColumns(Dataset<Row> results) {
        java.util.List<String> existing = java.util.List.of(done.schema().fieldNames());
        java.util.List<String> appending = java.util.List.of(results.schema().fieldNames());
        if (!existing.equals(appending)) {
            java.util.List<String> missing = appending.stream().filter(c -> !existing.contains(c)).toList();
            java.util.List<String> extra = existing.stream().filter(c -> !appending.contains(c)).toList();
            throw new IllegalArgumentException(options.output + " was written with other options: this run "
                    + (missing.isEmpty() ? "" : "adds the columns " + missing + (extra.isEmpty() ? "" : " and "))
                    + (extra.isEmpty() ? "" : "lacks the columns " + extra)
                    + (missing.isEmpty() && extra.isEmpty() ? "orders the columns differently" : "")
                    + " (e.g. --heatmap): resume with the options that wrote it, or give --overwrite");
        }
    }

    /** One write job; its report counts what it committed (total unset). */
    private Report writeChunk(Dataset<Row> results, SaveMode mode) {
        // counted as the rows stream into the writer (Spark keeps the counts of the attempts that committed), so
        // the report needs no second pass over the output
        Observation counts = new Observation("emovit-written");
        results.observe(counts, count(lit(1)).as("rows"), count(col("error")).as("errors")).write().mode(mode).parquet(options.output);
        Map<String, Object> c;
        try {
            c = counts.getAsJava();   // set when the write's job finished; returns at once
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the job's counts", e);
        }
        return new Report(((Number) c.get("rows")).longValue(), ((Number) c.get("errors")).longValue(), 0);
    }

    private boolean exists() {
        try {
            Path p = new Path(options.output);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            return fs.exists(p) && fs.listStatus(p).length > 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + options.output + ": " + e.getMessage(), e);
        }
    }
}
