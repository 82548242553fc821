package org.emovit.core;

/**
 * The one line of an error that is shown to a user or written into a results file. libtorch appends a C++
 * backtrace to its messages and Jackson a quoted source excerpt: only the first line says what went wrong.
 */
public final class Errors {
    private Errors() {}

    /** The first line of the exception's message, or the exception itself (its class) when it has no message. */
    public static String firstLine(Throwable e) {
        return e.getMessage() == null ? e.toString() : firstLine(e.getMessage());
    }

    /** The first line of a text ("" for an empty one). */
    public static String firstLine(String text) {
        return text.lines().findFirst().orElse("");
    }
}
