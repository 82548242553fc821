package org.emovit.spark;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** --commit-every: each chunk is committed by its own write job, so a stopped run keeps its finished chunks. */
class ChunkedCommitTest {

    /** Spark names a written file part-NNNNN-JOBUUID-cNNN...: one UUID per write job that committed. */
    private static final Pattern PART = Pattern.compile("part-\\d+-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-c\\d+.*\\.parquet");

    private static ClassifyJob job(String... args) {
        ClassifyJob job = new ClassifyJob();
        new CommandLine(job).parseArgs(args);
        return job;
    }

    /** The rows of the output, grouped by the write job that committed them. */
    private static Map<String, List<Row>> rowsByWriteJob(SparkSession spark, String out) throws Exception {
        try (Stream<Path> files = Files.list(Path.of(out))) {
            Map<String, List<String>> byJob = files.map(p -> p.getFileName().toString()).map(PART::matcher).filter(Matcher::matches)
                    .collect(Collectors.groupingBy(m -> m.group(1), Collectors.mapping(m -> out + "/" + m.group(), Collectors.toList())));
            return byJob.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
                    e -> spark.read().parquet(e.getValue().toArray(String[]::new)).collectAsList()));
        }
    }

    private static void assertEachImageOnce(SparkSession spark, String out, int images) {
        List<Row> rows = spark.read().parquet(out).select(col("sha256"), col("path")).collectAsList();
        assertThat(rows).hasSize(images);
        assertThat(rows.stream().map(r -> r.getString(0)).distinct()).hasSize(images);
        assertThat(rows.stream().map(r -> r.getString(1)).distinct()).hasSize(images);
    }

    private static Set<String> paths(List<Row> rows) {
        return rows.stream().map(r -> r.<String>getAs("path")).collect(Collectors.toSet());
    }

    /** The outputs' rows by write job: of the run in chunks and of the run in one chunk. */
    private record Runs(Map<String, List<Row>> chunkedJobs, Map<String, List<Row>> wholeJobs) {}

    /**
     * Classifies the input ({@code input}: its options) in chunks of {@code commitEvery} and in one chunk, and checks
     * that the chunked run wrote each of the {@code images} once, with the results of the one-chunk run.
     */
    private static Runs chunkedAndWhole(SparkSession spark, Path dir, int images, int commitEvery, String... input) throws Exception {
        String chunked = dir.resolve("chunked.parquet").toString();
        String whole = dir.resolve("whole.parquet").toString();
        ResultWriter.Report r = job(with(input, "--output", chunked, "--commit-every", String.valueOf(commitEvery))).run(spark);
        assertThat(r).isEqualTo(new ResultWriter.Report(images, 0, images));
        job(with(input, "--output", whole, "--commit-every", String.valueOf(images))).run(spark);

        assertEachImageOnce(spark, chunked, images);
        assertSameResults(spark, chunked, whole);
        return new Runs(rowsByWriteJob(spark, chunked), rowsByWriteJob(spark, whole));
    }

    private static String[] with(String[] args, String... more) {
        return Stream.concat(Stream.of(args), Stream.of(more)).toArray(String[]::new);
    }

    @Test
    void eachChunkIsCommittedByItsOwnJobWithTheResultsOfOneChunk(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        TestImages.pngs(images, 40, 3000);

        Runs runs = chunkedAndWhole(TestSpark.session(), dir, 40, 10, "--input", images.toString());
        assertThat(runs.chunkedJobs()).hasSize(4);
        assertThat(runs.chunkedJobs().values()).allSatisfy(rows -> assertThat(rows).hasSize(10));
        assertThat(runs.wholeJobs()).hasSize(1);
    }

    /** Each row of {@code actual} has the path, emotion and probabilities of the same image in {@code expected}. */
    private static void assertSameResults(SparkSession spark, String actual, String expected) {
        Map<String, Row> byHash = spark.read().parquet(expected).collectAsList().stream().collect(Collectors.toMap(x -> x.<String>getAs("sha256"), x -> x));
        assertThat(spark.read().parquet(actual).collectAsList()).allSatisfy(a -> {
            Row e = byHash.get(a.<String>getAs("sha256"));
            assertThat(e).isNotNull();
            assertThat(a.<String>getAs("path")).isEqualTo(e.getAs("path"));
            assertThat(a.<String>getAs("emotion")).isEqualTo(e.getAs("emotion"));
            for (Emotion em : Emotion.values()) {   // other images in a batch change float rounding only
                assertThat(a.<Double>getAs(ResultSchema.probability(em))).isCloseTo(e.getAs(ResultSchema.probability(em)), within(1e-5));
            }
        });
    }

    /** {@code images} PNGs as a Parquet table with the bytes in column {@code jpeg}, {@code perFile} rows a file. */
    private static String bytesTable(SparkSession spark, Path dir, int images, int perFile, int seedBase) throws Exception {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < images; i++) {
            rows.add(RowFactory.create(TestImages.png(seedBase + i)));
        }
        // a space in the name: the row counts name their files URL-encoded
        String table = dir.resolve("bytes table.parquet").toString();
        spark.createDataFrame(rows, new StructType().add("jpeg", DataTypes.BinaryType)).coalesce(1).write()
                .option("maxRecordsPerFile", perFile).parquet(table);
        return table;
    }

    @Test
    void aBytesTableIsCutByItsFilesWithTheResultsOfOneChunk(@TempDir Path dir) throws Exception {
        SparkSession spark = TestSpark.session();
        String table = bytesTable(spark, dir, 40, 5, 6000);
        assertThat(spark.read().parquet(table).inputFiles()).hasSize(8);

        Runs runs = chunkedAndWhole(spark, dir, 40, 10, "--format", "parquet", "--input", table, "--bytes-column", "jpeg");
        assertThat(runs.chunkedJobs()).hasSize(4);   // two files of 5 a chunk
        assertThat(runs.chunkedJobs().values()).allSatisfy(rows -> assertThat(rows).hasSize(10));
        assertThat(runs.wholeJobs()).hasSize(1);

        // the files' rows are counted without reading the bytes
        Dataset<Row> counts = ImageInput.rowsPerFile(spark, "parquet", spark.read().parquet(table).schema(), List.of(table));
        assertThat(counts.queryExecution().executedPlan().toString()).contains("ReadSchema: struct<>").doesNotContain("jpeg");
        assertThat(counts.collectAsList()).hasSize(8).allSatisfy(c -> assertThat(c.getLong(1)).isEqualTo(5));
    }

    @Test
    void aBytesTableFileWithMoreRowsThanAChunkIsAChunkOfItsOwn(@TempDir Path dir) throws Exception {
        SparkSession spark = TestSpark.session();
        String table = bytesTable(spark, dir, 12, 100, 7000);
        assertThat(spark.read().parquet(table).inputFiles()).hasSize(1);

        Runs runs = chunkedAndWhole(spark, dir, 12, 5, "--format", "parquet", "--input", table, "--bytes-column", "jpeg");
        assertThat(runs.chunkedJobs()).hasSize(1);
    }

    @Test
    void aRunStoppedInItsThirdChunkKeepsTwoAndResumeDoesOnlyTheRest(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        TestImages.pngs(images, 40, 4000);
        SparkSession spark = TestSpark.session();
        String out = dir.resolve("out.parquet").toString();

        // the third chunk's job fails midway (every attempt), as a job that is stopped does
        ClassifyJob first = job("--input", images.toString(), "--output", out, "--commit-every", "10", "--partitions", "2");
        AtomicInteger chunks = new AtomicInteger();
        assertThatThrownBy(() -> new ResultWriter(spark, first.output).write(first.input, pending -> chunks.incrementAndGet() < 3
                ? first.classify(pending)
                : first.classify(pending).mapPartitions(InjectedFailure.everyAttempt(3), Encoders.row(ResultSchema.CLASSIFY))))
                .hasStackTraceContaining("injected failure");
        assertThat(chunks).hasValue(3);
        Map<String, List<Row>> kept = rowsByWriteJob(spark, out);
        assertThat(kept).hasSize(2);   // the two committed chunks, nothing of the failed one
        assertEachImageOnce(spark, out, 20);
        Set<String> keptPaths = new HashSet<>();
        kept.values().forEach(rows -> keptPaths.addAll(paths(rows)));

        ClassifyJob resume = job("--input", images.toString(), "--output", out, "--commit-every", "10", "--resume");
        AtomicInteger processed = new AtomicInteger();
        ResultWriter.Report r = new ResultWriter(spark, resume.output).write(resume.input, pending -> {
            processed.incrementAndGet();
            return resume.classify(pending);
        });
        assertThat(r).isEqualTo(new ResultWriter.Report(20, 0, 40));
        assertThat(processed).hasValue(2);   // the two finished chunks are skipped without the model
        assertEachImageOnce(spark, out, 40);
        Map<String, List<Row>> after = rowsByWriteJob(spark, out);
        assertThat(after).hasSize(4).containsAllEntriesOf(kept);
        Set<String> resumedPaths = new HashSet<>();
        after.keySet().stream().filter(id -> !kept.containsKey(id)).forEach(id -> resumedPaths.addAll(paths(after.get(id))));
        assertThat(resumedPaths).hasSize(20).doesNotContainAnyElementsOf(keptPaths);
    }

    @Test
    void commitEveryMustBePositive(@TempDir Path dir) throws Exception {
        TestImages.pngs(dir.resolve("images"), 2, 5000);
        TestSpark.session();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream saved = System.err;
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = SparkMain.run("classify", "--input", dir.resolve("images").toString(), "--output", dir.resolve("out.parquet").toString(),
                    "--commit-every", "0");
        } finally {
            System.setErr(saved);
        }
        assertThat(code).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("emovit spark:")).toList()).singleElement()
                .satisfies(l -> assertThat(l).contains("--commit-every").contains("0"));
        assertThat(dir.resolve("out.parquet")).doesNotExist();
    }
}
