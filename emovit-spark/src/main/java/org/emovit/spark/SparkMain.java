package org.emovit.spark;

import org.emovit.options.ErrorMessages;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code emovit spark}: EmoVIT as Spark jobs. The same class is the front door in both worlds: {@code ./emovit spark
 * ... --master local[*]} runs Spark inside this JVM, and {@code spark-submit --class org.emovit.spark.SparkMain
 * emovit-spark.jar ...} runs it on a cluster (the master then comes from spark-submit).
 */
@Command(name = "emovit spark", mixinStandardHelpOptions = true, version = "emovit-spark 0.1.0",
        description = "EmoVIT on Apache Spark: classify or caption many images, evaluate a classify output.",
        subcommands = {ClassifyJob.class, CaptionJob.class, EvalJob.class, BenchJob.class, CommandLine.HelpCommand.class})
public final class SparkMain {

    public static void main(String[] args) {
        org.emovit.model.NativeSettings.exitIfInvalid("emovit spark");   // executors check again where they load the model
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (tests call this instead of main). */
    public static int run(String... args) {
        // Spark wraps a task's exception in a SparkException whose first line names the task and the cause.
        CommandLine cli = ErrorMessages.reportingTo(new CommandLine(new SparkMain()), "emovit spark");
        return cli.execute(args);
    }
}
