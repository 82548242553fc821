package org.emovit.cli;

import org.emovit.options.ErrorMessages;
import org.emovit.devtools.AttributionCheckCommand;
import org.emovit.devtools.BenchCommand;
import org.emovit.devtools.PeerModelCommand;
import org.emovit.devtools.ForwardCommand;
import org.emovit.devtools.ServeBenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The `emovit` command. */
@Command(name = "emovit", mixinStandardHelpOptions = true, version = "emovit 0.1.0",
        description = "EmoVIT (InstructBLIP-Vicuna emotion model) on the JVM.",
        subcommands = {AskCommand.class, ClassifyCommand.class, EvalCommand.class, TrainCommand.class, DataCommand.class, ForwardCommand.class,
                BenchCommand.class, PeerModelCommand.class, AttributionCheckCommand.class, ConvertCommand.class, ServeCommand.class, ServeBenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    static {
        org.emovit.model.NativeMemory.configure();
    }

    public static void main(String[] args) throws InterruptedException {
        org.emovit.model.NativeSettings.exitIfInvalid("emovit");
        // The command runs on a thread of its own, not on the JVM's main thread: measured on this project's 2-core
        // machines, libtorch's OpenMP parallel regions called from the main thread made `classify` of 20 images
        // with the tiny model take 20 s instead of 2.6 s (the server and Spark always ran on other threads).
        int[] code = {1};
        Thread worker = new Thread(() -> code[0] = run(args), "emovit");
        worker.start();
        worker.join();
        System.exit(code[0]);
    }

    /** Runs the command line and returns the exit code (tests call this instead of main). */
    public static int run(String... args) {
        CommandLine cli = commandLine();
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {   // picocli hands only Exceptions to the handler
            cli.getErr().println("emovit: " + ErrorMessages.of(e));
            return 1;
        }
    }

    /** The command line with emovit's error reporting: one line naming the problem (a stack trace with EMOVIT_DEBUG). */
    static CommandLine commandLine() {
        return ErrorMessages.reportingTo(new CommandLine(new Main()), "emovit");
    }
}
