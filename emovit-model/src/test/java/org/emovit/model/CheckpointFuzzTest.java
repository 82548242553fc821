package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CheckpointFuzz} in a JVM of its own, so that a native crash (before the fixes: SIGSEGV in libtorch's int8
 * kernel on a weight mapped at an 8-byte offset) fails this test naming the case instead of killing the test runner.
 * Every case must load or be refused in one line naming the file; none may hang (the whole run has a time limit).
 */
class CheckpointFuzzTest {
    static final long SEED = 24;
    static final int CASES = 2000;

    @Test
    void everyMutatedCheckpointLoadsOrIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("fuzz.log");
        Path work = Files.createDirectories(dir.resolve("cases"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "-Xmx512m",
                CheckpointFuzz.class.getName(), Long.toString(SEED), Integer.toString(CASES), work.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean finished = p.waitFor(240, TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly().waitFor();
        }
        List<String> lines = Files.readAllLines(log);
        String last = lines.stream().filter(l -> l.startsWith("case ")).reduce((a, b) -> b).orElse("(none)");
        assertThat(finished).as("the fuzz run hung; last case started: %s", last).isTrue();
        assertThat(p.exitValue()).as("the fuzz JVM died (a native crash?) in %s%n%s", last, tail(lines)).isZero();
        assertThat(lines.stream().filter(l -> l.startsWith("BAD ")).toList()).isEmpty();
        String tally = lines.stream().filter(l -> l.startsWith("tally: ")).findFirst().orElseThrow();
        System.out.println("checkpoint fuzz, seed " + SEED + ": " + tally);
        Matcher m = Pattern.compile("cases (\\d+), loaded (\\d+), refused (\\d+), bad 0").matcher(tally);
        assertThat(m.find()).as(tally).isTrue();
        assertThat(Integer.parseInt(m.group(1))).isEqualTo(CASES);
        // both outcomes are exercised: valid re-layouts load, broken headers are refused
        assertThat(Integer.parseInt(m.group(2))).isGreaterThan(CASES / 5);
        assertThat(Integer.parseInt(m.group(3))).isGreaterThan(CASES / 5);
        assertThat(new File(work.toString()).list()).isEmpty();
    }

    private static String tail(List<String> lines) {
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }
}
