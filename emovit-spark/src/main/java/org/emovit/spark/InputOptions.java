package org.emovit.spark;

import picocli.CommandLine.Option;

/** Where the images come from: files (binaryFile source) or a table with a path or bytes column. */
public final class InputOptions {

    @Option(names = "--input", required = true, paramLabel = "DIR|GLOB|TABLE",
            description = "A directory (read recursively) or glob of images, or a Parquet/JSON/CSV table with --format.")
    String input;

    @Option(names = "--format", defaultValue = "files",
            description = "files (default: images through Spark's binaryFile source), parquet, json, csv (a table with "
                    + "--path-column and/or --bytes-column), or emoset (an EmoSet split file such as test.json).")
    String format;

    @Option(names = "--path-column", defaultValue = "path", description = "Table column with the image path or URI (default: ${DEFAULT-VALUE}).")
    String pathColumn;

    @Option(names = "--bytes-column", description = "Table column with the encoded image bytes (then no file is read).")
    String bytesColumn;

    @Option(names = "--glob-filter", paramLabel = "GLOB", description = "Only files whose name matches, e.g. *.jpg (files format).")
    String globFilter;

    @Option(names = "--partitions", defaultValue = "0",
            description = "Repartition the images into N tasks (default: as Spark reads them).")
    int partitions;

    @Option(names = "--max-pixels", defaultValue = "89478485", description = "Refuse larger images from their header (default: PIL's limit).")
    long maxPixels;
}
