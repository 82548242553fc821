package org.emovit.core;

import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

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

    /**
     * The one line a user sees for a failure. Java's file errors carry only a path as their message
     * ("/data/out.jsonl"), and some errors none at all: this says what went wrong with which file; running out of
     * heap says how to give more; a bug says so; anything else is its message's first line.
     */
    public static String forUser(Throwable e) {
        Throwable t = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof FileSystemException f && (t == c || t.getMessage() == null || t.getMessage().equals(f.getFile()))) {
                return describe(f);
            }
        }
        if (t instanceof OutOfMemoryError) {
            return "out of Java heap memory (" + t.getMessage() + "); give the JVM more with EMOVIT_JAVA_OPTS=-Xmx...";
        }
        if (t instanceof ArithmeticException || t instanceof NullPointerException || t instanceof IndexOutOfBoundsException) {
            return "internal error (" + t + "); please report it, with EMOVIT_DEBUG=1 for the stack trace";
        }
        return firstLine(t);
    }

    private static String describe(FileSystemException f) {
        String file = f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "");
        if (f instanceof AccessDeniedException) {
            return file + ": permission denied";
        }
        if (f instanceof NoSuchFileException) {
            return file + ": no such file or directory";
        }
        if (f instanceof NotDirectoryException) {
            return file + ": not a directory";
        }
        if (f instanceof FileAlreadyExistsException) {
            return file + ": exists and is not a directory";   // what creating a folder on the way reports
        }
        return file + ": " + (f.getReason() != null ? f.getReason() : f.getClass().getSimpleName());
    }
}
