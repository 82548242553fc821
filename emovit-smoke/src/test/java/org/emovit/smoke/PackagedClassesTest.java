package org.emovit.smoke;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.emovit.smoke.Artifacts.Result;
import org.emovit.smoke.Artifacts.Started;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guard for the packaged dependency set: every class the project's own code refers to can be found in the
 * shaded jar (emovit-spark.jar: in it or in the Spark a cluster has). A dependency that Maven's mediation leaves
 * out of a shade (a test-scoped declaration that wins over a module's compile one) fails here, by name, whatever
 * the in-process tests say: {@code jdeps --missing-deps} over the project's packages.
 */
class PackagedClassesTest {

    static List<String> missing(Path dir, Path jar, List<String> classPath) throws Exception {
        List<String> command = new ArrayList<>(List.of(Artifacts.JAVA_HOME.resolve("bin/jdeps").toString(), "--multi-release", "17",
                "--missing-deps", "-include", "org\\.emovit\\..*"));
        if (!classPath.isEmpty()) {
            command.addAll(List.of("--class-path", String.join(":", classPath)));
        }
        command.add(jar.toString());
        try (Started jdeps = Artifacts.start(dir, Map.of(), command)) {
            Result r = jdeps.waitFor(Duration.ofMinutes(3));
            assertThat(r.code()).as(r.both()).isZero();
            return r.out().lines().filter(l -> l.contains("not found")).map(String::strip).toList();
        }
    }

    @Test
    void everyClassTheCommandsReferToIsInEmovitJar(@TempDir Path dir) throws Exception {
        assertThat(missing(dir, Artifacts.CLI_JAR, List.of())).isEmpty();
        try (ZipFile jar = new ZipFile(Artifacts.CLI_JAR.toFile())) {
            // what the data stages load at run time, reflectively or not (the defect this guard was written for)
            assertThat(jar.getEntry("com/openai/errors/OpenAIServiceException.class")).isNotNull();
            assertThat(jar.getEntry("org/emovit/cli/Main.class")).isNotNull();
        }
    }

    @Test
    void everyClassTheSparkJobsReferToIsInEmovitSparkJarOrSpark(@TempDir Path dir) throws Exception {
        List<String> spark;
        try (Stream<Path> jars = Files.list(Artifacts.SPARK_HOME.resolve("jars"))) {
            spark = jars.map(Path::toString).sorted().toList();
        }
        assertThat(spark).anyMatch(j -> j.contains("spark-core_2.13"));
        assertThat(missing(dir, Artifacts.SPARK_JAR, spark)).isEmpty();
        try (ZipFile jar = new ZipFile(Artifacts.SPARK_JAR.toFile())) {
            assertThat(jar.getEntry("org/apache/spark/SparkContext.class")).as("Spark is provided, not shaded in").isNull();
            assertThat(jar.getEntry("org/emovit/spark/EmoVitClassifier.class")).isNotNull();
            assertThat(jar.getEntry("org/emovit/options/ModelOptions.class")).isNotNull();
            // no executor runs the command line, the server or the data stages: none of them, nor their libraries
            List<String> foreign = jar.stream().map(ZipEntry::getName)
                    .filter(n -> n.startsWith("io/javalin/") || n.startsWith("org/eclipse/jetty/") || n.startsWith("com/openai/")
                            || n.startsWith("org/emovit/cli/") || n.startsWith("org/emovit/serve/") || n.startsWith("org/emovit/data/"))
                    .limit(5).toList();
            assertThat(foreign).as("classes of emovit-cli, -serve, -data, Javalin, Jetty or the OpenAI SDK in emovit-spark.jar").isEmpty();
        }
    }
}
