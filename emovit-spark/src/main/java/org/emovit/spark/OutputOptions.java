package org.emovit.spark;

import picocli.CommandLine.Option;

/** Where the Parquet output goes and what to do when it is already there. */
public final class OutputOptions {

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Parquet output directory (local path or any Hadoop URI).")
    String output;

    @Option(names = "--resume", description = "Skip the images already in --output (same SHA-256) and append the rest.")
    boolean resume;

    @Option(names = "--overwrite", description = "Replace an existing --output.")
    boolean overwrite;
}
