package org.emovit.options;

import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import org.emovit.core.Errors;
import picocli.CommandLine;

/**
 * The one line a failed command prints. Java's file errors carry only a path as their message
 * ("/data/out.jsonl"), and some errors none at all; this says what went wrong with which file.
 */
public final class ErrorMessages {
    private ErrorMessages() {}

    /**
     * Makes a command line report a failed command as one line, "PREFIX: what went wrong" (the stack trace too
     * with EMOVIT_DEBUG), with exit code 1.
     */
    public static CommandLine reportingTo(CommandLine cli, String prefix) {
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println(prefix + ": " + of(e));
            if (System.getenv("EMOVIT_DEBUG") != null) {
                e.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cli;
    }

    public static String of(Throwable e) {
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
        return Errors.firstLine(t);
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
