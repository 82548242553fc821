package org.emovit.data;

import java.io.OutputStream;
import java.io.PrintStream;

/** Progress output of the stages: a stream, or nothing. */
public final class Progress {
    private Progress() {
    }

    /** {@code out}, or a stream that discards everything when {@code out} is null. */
    public static PrintStream orQuiet(PrintStream out) {
        return out != null ? out : new PrintStream(OutputStream.nullOutputStream());
    }
}
