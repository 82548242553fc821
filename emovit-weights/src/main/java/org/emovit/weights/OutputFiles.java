package org.emovit.weights;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;

/** Where the writers put a file while it is being written, and what they put in it instead of the time. */
final class OutputFiles {
    private OutputFiles() {}

    /** The time stamp inside archives (the zip format's earliest), so exports are byte-reproducible. */
    static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);

    /**
     * A fresh name beside {@code target} for the data before it is renamed into place. Its folder must exist:
     * a mistyped output path is an error, not a tree of new folders (possibly at the file system's root). The
     * file itself is created by the caller with the default permissions (the umask's), not the 0600 of
     * {@link Files#createTempFile}, so the result is as readable as any other file the user writes.
     */
    static Path temporaryBeside(Path target) {
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new WeightsException("cannot write " + target + ": the folder " + dir + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            throw new WeightsException("cannot write " + target + ": the folder " + dir + " is not writable");
        }
        return dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime() + ".part");
    }
}
