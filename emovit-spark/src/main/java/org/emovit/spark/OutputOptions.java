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

    @Option(names = "--commit-every", paramLabel = "N", defaultValue = "10000",
            description = "Images per committed chunk (default: ${DEFAULT-VALUE}): each chunk is its own Spark write job, so a "
                    + "job stopped midway keeps the chunks it finished and --resume goes on from there.")
    int commitEvery;

    /** --commit-every, checked. */
    int commitEvery() {
        if (commitEvery <= 0) {
            throw new IllegalArgumentException("--commit-every must be a positive number of images, not " + commitEvery);
        }
        return commitEvery;
    }
}
