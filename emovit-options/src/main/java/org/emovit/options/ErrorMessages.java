package org.emovit.options;

import org.emovit.core.Errors;
import picocli.CommandLine;

/** The one line a failed command prints ({@link Errors#forUser}), and the command-line handler that prints it. */
public final class ErrorMessages {
    private ErrorMessages() {}

    /** The one line a user sees for a failure (see {@link Errors#forUser}). */
    public static String of(Throwable e) {
        return Errors.forUser(e);
    }

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
}
