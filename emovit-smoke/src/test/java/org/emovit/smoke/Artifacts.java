package org.emovit.smoke;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The shipped artifacts and the ways users run them: {@code ./emovit} (which runs {@code emovit-cli/target/emovit.jar}),
 * and {@code emovit-spark/target/emovit-spark.jar} through Spark's own {@code SparkSubmit} with a Spark distribution's
 * {@code jars/} folder. Nothing here puts the project's classes on a class path: every program is a process of its
 * own, as a user starts it, on the JDK that runs the tests (so a Temurin 25 run tests the jars on 25).
 */
final class Artifacts {
    /** The project's root (surefire runs a module's tests in the module's folder). */
    static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    static final Path LAUNCHER = ROOT.resolve("emovit");
    static final Path CLI_JAR = ROOT.resolve("emovit-cli/target/emovit.jar");
    static final Path SPARK_JAR = ROOT.resolve("emovit-spark/target/emovit-spark.jar");
    /** A Spark distribution's layout: {@code jars/} holds the Spark the build resolves (see this module's pom). */
    static final Path SPARK_HOME = ROOT.resolve("emovit-smoke/target/spark-home");
    static final Path JAVA_HOME = Path.of(System.getProperty("java.home"));
    /** What Spark's launcher passes on Java 17 (the surefire argLine holds the same, from the parent pom). */
    static final List<String> SPARK_JVM_FLAGS = List.of(System.getProperty("emovit.spark.jvm.flags", "").split(" "));

    private Artifacts() {}

    /** A finished program: its exit code and what it printed. */
    record Result(int code, String out, String err) {
        /** Both streams, for assertion messages. */
        String both() {
            return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }

        /** The lines of stdout that are JSON objects. */
        List<String> jsonLines() {
            return out.lines().filter(l -> l.startsWith("{")).toList();
        }
    }

    /** A started program; its output goes to files, so a chatty one never blocks on a full pipe. */
    static final class Started implements AutoCloseable {
        final Process process;
        final Path out;
        final Path err;

        Started(Process process, Path out, Path err) {
            this.process = process;
            this.out = out;
            this.err = err;
        }

        String err() {
            return read(err);
        }

        String out() {
            return read(out);
        }

        /** Waits for the first match of {@code pattern} in stderr and returns its group 1. */
        String awaitErr(Pattern pattern, Duration timeout) throws InterruptedException {
            long until = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < until) {
                Matcher m = pattern.matcher(err());
                if (m.find()) {
                    return m.group(1);
                }
                assertThat(process.isAlive()).as("the program ended before printing %s:\n%s\n%s", pattern, out(), err()).isTrue();
                Thread.sleep(100);
            }
            throw new AssertionError("no " + pattern + " within " + timeout + ":\n" + err());
        }

        Result waitFor(Duration timeout) throws InterruptedException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new AssertionError("still running after " + timeout + ":\n" + out() + "\n" + err());
            }
            return new Result(process.exitValue(), out(), err());
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    /** Starts {@code command} in {@code dir} with the test JDK as JAVA_HOME, plus {@code env}. */
    static Started start(Path dir, Map<String, String> env, List<String> command) throws IOException {
        Files.createDirectories(dir);
        Path logs = Files.createTempDirectory(dir, "run-");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(logs.resolve("out").toFile()).redirectError(logs.resolve("err").toFile());
        pb.environment().put("JAVA_HOME", JAVA_HOME.toString());
        pb.environment().remove("EMOVIT_JAVA_OPTS");
        pb.environment().putAll(env);
        return new Started(pb.start(), logs.resolve("out"), logs.resolve("err"));
    }

    /** {@code ./emovit ARGS...} in {@code dir}, started. */
    static Started startEmovit(Path dir, String... args) throws IOException {
        return startEmovit(dir, Map.of(), args);
    }

    static Started startEmovit(Path dir, Map<String, String> env, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        command.addAll(List.of(args));
        return start(dir, env, command);
    }

    /** {@code ./emovit ARGS...} in {@code dir}, run to its end (at most 5 minutes). */
    static Result emovit(Path dir, String... args) throws IOException, InterruptedException {
        return emovit(dir, Map.of(), args);
    }

    /** As {@link #emovit(Path, String...)}, with these environment variables added. */
    static Result emovit(Path dir, Map<String, String> env, String... args) throws IOException, InterruptedException {
        try (Started s = startEmovit(dir, env, args)) {
            return s.waitFor(Duration.ofMinutes(5));
        }
    }

    /** {@code java [Spark's flags] -cp SPARK_HOME/jars/* MAIN ARGS...}, as Spark's own scripts start its programs. */
    static List<String> sparkJava(String mainClass, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(JAVA_HOME.resolve("bin/java").toString());
        command.addAll(SPARK_JVM_FLAGS);
        command.addAll(List.of("-Xmx1g", "-cp", SPARK_HOME.resolve("jars") + "/*", mainClass));
        command.addAll(args);
        return command;
    }

    /**
     * Spark's logging for the tests' programs: warnings, and the lines the tests wait for or read (the Master's
     * and Worker's start and registrations, the executors' tasks).
     */
    private static final String LOG4J2 = String.join("\n",
            "rootLogger.level = warn", "rootLogger.appenderRef.stderr.ref = console",
            "appender.console.type = Console", "appender.console.name = console", "appender.console.target = SYSTEM_ERR",
            "appender.console.layout.type = PatternLayout", "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex",
            "logger.deploy.name = org.apache.spark.deploy", "logger.deploy.level = info",
            "logger.executor.name = org.apache.spark.executor.Executor", "logger.executor.level = info", "");

    /** The environment Spark's scripts would set: where Spark is, its Scala version, loopback only. */
    static Map<String, String> sparkEnv() throws IOException {
        Path conf = Files.createDirectories(SPARK_HOME.resolve("conf"));
        Files.writeString(conf.resolve("log4j2.properties"), LOG4J2);
        return Map.of("SPARK_HOME", SPARK_HOME.toString(), "SPARK_SCALA_VERSION", "2.13", "SPARK_LOCAL_IP", "127.0.0.1",
                "SPARK_CONF_DIR", SPARK_HOME.resolve("conf").toString());
    }

    /** {@code SparkSubmit --class org.emovit.spark.SparkMain [submitArgs] emovit-spark.jar [jobArgs]}, run to its end. */
    static Result sparkSubmit(Path dir, List<String> submitArgs, String... jobArgs) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(submitArgs);
        args.addAll(List.of("--class", "org.emovit.spark.SparkMain", "--conf", "spark.ui.enabled=false",
                "--conf", "spark.driver.host=127.0.0.1", SPARK_JAR.toString()));
        args.addAll(List.of(jobArgs));
        try (Started s = start(dir, sparkEnv(), sparkJava("org.apache.spark.deploy.SparkSubmit", args))) {
            return s.waitFor(Duration.ofMinutes(5));
        }
    }

    /** Every file under {@code dir}. */
    static List<Path> files(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
