package org.emovit.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.emovit.eval.Datasets;
import org.emovit.eval.LabelledImage;

/**
 * The images of a job as one table: {@code path} (string), {@code content} (the encoded bytes), {@code sha256}
 * (hex, of the bytes; the identity --resume uses) and {@code error} (why the bytes could not be had, else null).
 */
public final class ImageInput {

    public static final StructType LOADED = new StructType()
            .add("path", DataTypes.StringType, true)
            .add("content", DataTypes.BinaryType, true)
            .add("error", DataTypes.StringType, true);

    private ImageInput() {}

    /**
     * The images as chunks of at most {@code size}, in a fixed order, each a table of the columns above that reads
     * only its own images: the files are listed first (a job that selects no content, so Spark's binaryFile reader
     * opens no file), the list is cut here on the driver, and a chunk reads its files by path. Filtering one read
     * by chunk instead would read every image once per chunk. A table with the bytes in it is cut by its files
     * instead ({@link #bytesTableChunks}).
     */
    public static List<Dataset<Row>> chunks(SparkSession spark, InputOptions o, int size) {
        String format = o.format.toLowerCase(Locale.ROOT);
        List<String> paths = switch (format) {
            case "files", "binaryfile" -> sorted(listFiles(spark, o, o.input));
            case "emoset" -> emosetPaths(o).stream().sorted().toList();
            case "parquet", "json", "csv" -> o.bytesColumn != null ? null : sorted(tablePaths(spark, o, format));
            default -> throw unknownFormat(o);
        };
        if (paths == null) {
            return bytesTableChunks(spark, o, format, size);
        }
        List<Dataset<Row>> out = new ArrayList<>();
        int from = 0;
        do {   // no images is one empty chunk, so that the output is still written (with its schema)
            List<String> chunk = paths.subList(from, Math.min(paths.size(), from + size));
            out.add(hashed(o, loadFiles(spark, spark.createDataset(chunk, Encoders.STRING()).toDF("path"))));
            from += size;
        } while (from < paths.size());
        return out;
    }

    private static List<String> sorted(Dataset<Row> images) {
        // a table's path column may hold nulls (they become rows with an error)
        return images.select("path").as(Encoders.STRING()).collectAsList().stream()
                .sorted(Comparator.nullsFirst(Comparator.naturalOrder())).toList();
    }

    private static Dataset<Row> hashed(InputOptions o, Dataset<Row> loaded) {
        if (o.partitions > 0) {
            loaded = loaded.repartition(o.partitions);
        }
        return loaded.withColumn("sha256", sha2(col("content"), 256)).select("path", "content", "sha256", "error");
    }

    private static IllegalArgumentException unknownFormat(InputOptions o) {
        return new IllegalArgumentException("--format must be files, parquet, json, csv or emoset, not '" + o.format + "'");
    }

    /** What Spark should count for opening one image file when it packs files into tasks (see {@link #listFiles}). */
    static final String OPEN_COST = "spark.sql.files.openCostInBytes";

    /** The image files under these paths (recursively, through Spark's binaryFile source), as a {@code path} column. */
    private static Dataset<Row> listFiles(SparkSession spark, InputOptions o, String... paths) {
        if (!spark.sparkContext().getConf().contains(OPEN_COST)) {
            // Spark's default (4 MB per file) is meant for tables and cuts a folder of small images into tasks of ~30
            // files: per-task costs then rival the work. Count 64 KB; tasks are then filled up to
            // spark.sql.files.maxPartitionBytes (128 MB) of images.
            spark.conf().set(OPEN_COST, "65536");
        }
        var reader = spark.read().format("binaryFile").option("recursiveFileLookup", "true");
        if (o.globFilter != null) {
            reader = reader.option("pathGlobFilter", o.globFilter);
        }
        return reader.load(paths).select(col("path"));   // no content selected: the reader opens no file
    }

    /** An EmoSet split file names its images; they are read as files. */
    private static List<String> emosetPaths(InputOptions o) {
        var ds = Datasets.emosetSplit(Path.of(o.input));
        if (!ds.problems().isEmpty()) {
            System.err.printf(Locale.ROOT, "%d split entries skipped, e.g.: %s%n", ds.problems().size(), ds.problems().get(0));
        }
        List<String> paths = ds.items().stream().map(LabelledImage::image).map(p -> p.toAbsolutePath().toString()).toList();
        if (paths.isEmpty()) {
            throw new IllegalArgumentException(o.input + ": no images");
        }
        return paths;
    }

    /**
     * A table with the bytes in it, cut by its files: the files in sorted order, consecutive ones grouped while their
     * rows add up to at most {@code size}, each chunk a table read from its own files only. A row cannot be picked
     * out of a file without reading the file, so a file with more than {@code size} rows is a chunk of its own (the
     * alternative, filtering it by row, would read all its bytes once per chunk).
     */
    private static List<Dataset<Row>> bytesTableChunks(SparkSession spark, InputOptions o, String format, int size) {
        Dataset<Row> whole = tableReader(spark, format).load(o.input);
        List<String> files = Arrays.stream(whole.inputFiles()).map(ImageInput::hadoopPath).sorted().toList();
        if (files.isEmpty()) {
            return List.of(hashed(o, bytesTable(o, whole)));
        }
        Map<String, Long> rows = new HashMap<>();
        rowsPerFile(spark, format, whole.schema(), files).collectAsList()
                .forEach(r -> rows.put(hadoopPath(r.getAs("file")), r.<Long>getAs("count")));
        List<Dataset<Row>> out = new ArrayList<>();
        List<String> chunk = new ArrayList<>();
        long chunkRows = 0;
        for (String file : files) {
            long n = rows.getOrDefault(file, 0L);   // a file without rows is not in the count
            if (!chunk.isEmpty() && chunkRows + n > size) {
                out.add(hashed(o, bytesTable(o, tableFiles(spark, format, whole.schema(), chunk))));
                chunk = new ArrayList<>();
                chunkRows = 0;
            }
            chunk.add(file);
            chunkRows += n;
        }
        out.add(hashed(o, bytesTable(o, tableFiles(spark, format, whole.schema(), chunk))));
        return out;
    }

    /**
     * The rows of each file ({@code file}: URL-encoded, as input_file_name gives it; {@code count}). Only the file
     * name is selected, so Parquet reads no column at all (row counts come from the footers); JSON and CSV are parsed,
     * but no bytes are kept.
     */
    static Dataset<Row> rowsPerFile(SparkSession spark, String format, StructType schema, List<String> files) {
        return tableFiles(spark, format, schema, files).select(input_file_name().as("file")).groupBy("file").count();
    }

    /**
     * A file as a reader takes it: inputFiles and input_file_name name it URL-encoded (a space as %20), which a
     * reader would take literally.
     */
    private static String hadoopPath(String urlEncoded) {
        return new org.apache.hadoop.fs.Path(URI.create(urlEncoded)).toString();
    }

    /** Some of a table's files, read with the table's schema (so that JSON is not read once more to infer it). */
    private static Dataset<Row> tableFiles(SparkSession spark, String format, StructType schema, List<String> files) {
        return tableReader(spark, format).schema(schema).load(files.toArray(String[]::new));
    }

    /** A table's bytes column as {@code content}, with its path column (or else the hash) as {@code path}. */
    private static Dataset<Row> bytesTable(InputOptions o, Dataset<Row> t) {
        List<String> columns = Arrays.asList(t.columns());
        if (!columns.contains(o.bytesColumn)) {
            throw new IllegalArgumentException(o.input + ": no column '" + o.bytesColumn + "' (--bytes-column); columns: " + columns);
        }
        // without a path column the image is named by its hash, so that output rows still say which image
        return t.select(columns.contains(o.pathColumn) ? col(o.pathColumn).cast(DataTypes.StringType).as("path")
                        : sha2(col(o.bytesColumn), 256).as("path"),
                col(o.bytesColumn).cast(DataTypes.BinaryType).as("content"), lit(null).cast(DataTypes.StringType).as("error"));
    }

    /** The path column of a table without --bytes-column, as {@code path}. */
    private static Dataset<Row> tablePaths(SparkSession spark, InputOptions o, String format) {
        Dataset<Row> t = tableReader(spark, format).load(o.input);
        List<String> columns = Arrays.asList(t.columns());
        if (!columns.contains(o.pathColumn)) {
            throw new IllegalArgumentException(o.input + ": no column '" + o.pathColumn + "' (--path-column) and no --bytes-column; columns: " + columns);
        }
        return t.select(col(o.pathColumn).cast(DataTypes.StringType).as("path"));
    }

    /** The files a {@code path} column names, read on the executors ({@link FileBytesLoader}). */
    private static Dataset<Row> loadFiles(SparkSession spark, Dataset<Row> paths) {
        return paths.mapPartitions(new FileBytesLoader(hadoopConf(spark)), Encoders.row(LOADED));
    }

    private static DataFrameReader tableReader(SparkSession spark, String format) {
        var reader = spark.read().format(format);
        return format.equals("csv") ? reader.option("header", "true") : reader;
    }

    /** The driver's Hadoop settings (credentials, endpoints) as a plain map, for the executors that read the files. */
    private static Map<String, String> hadoopConf(SparkSession spark) {
        Map<String, String> out = new HashMap<>();
        spark.sparkContext().hadoopConfiguration().forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }
}
