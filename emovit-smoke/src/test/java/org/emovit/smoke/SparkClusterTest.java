package org.emovit.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.emovit.smoke.Artifacts.emovit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.emovit.smoke.Artifacts.Result;
import org.emovit.smoke.Artifacts.Started;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real standalone Spark cluster on loopback: a Master and a Worker, each a JVM of its own started with Spark's
 * deploy classes from a Spark distribution's {@code jars/}; {@code emovit-spark.jar} is submitted to it in client mode
 * with {@code SparkSubmit --master spark://...}, and the Worker starts the executors, JVMs of their own again.
 */
class SparkClusterTest {
    @TempDir static Path dir;
    static Started master;
    static Started worker;
    static String masterUrl;
    static Path workDir;

    @BeforeAll
    static void startCluster() throws Exception {
        workDir = Files.createDirectories(dir.resolve("worker-work"));
        master = Artifacts.start(dir.resolve("master"), Artifacts.sparkEnv(), Artifacts.sparkJava("org.apache.spark.deploy.master.Master",
                List.of("--host", "127.0.0.1", "--port", String.valueOf(freePort()), "--webui-port", String.valueOf(freePort()))));
        masterUrl = master.awaitErr(Pattern.compile("Starting Spark master at (spark://\\S+)"), Duration.ofMinutes(2));
        worker = Artifacts.start(dir.resolve("worker"), Artifacts.sparkEnv(), Artifacts.sparkJava("org.apache.spark.deploy.worker.Worker",
                List.of("--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--work-dir", workDir.toString(),
                        "--webui-port", String.valueOf(freePort()), masterUrl)));
        worker.awaitErr(Pattern.compile("(Successfully registered with master)"), Duration.ofMinutes(2));
    }

    @AfterAll
    static void stopCluster() {
        for (Started s : new Started[] {worker, master}) {
            if (s != null) {
                s.close();
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void executorsOnTheClusterClassifyEveryImageOnceAsEmovitClassifyDoes() throws Exception {
        Path images = Inputs.images(dir.resolve("images"), 8);
        Result local = emovit(dir, "classify", images.toString());
        assertThat(local.code()).as(local.both()).isZero();
        Map<String, JsonNode> classified = Inputs.byFileName(local.jsonLines(), "image");

        Path parquet = dir.resolve("classified");
        Result r = Artifacts.sparkSubmit(dir, List.of("--master", masterUrl, "--deploy-mode", "client",
                        "--conf", "spark.executor.memory=1g", "--conf", "spark.cores.max=2"),
                "classify", "--input", images.toString(), "--output", parquet.toString(), "--partitions", "4");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("classified 8 image(s), 0 with an error");
        SparkResults.assertEqualToClassify(parquet, classified);

        // The Worker started executors in JVMs of their own (their command line and logs are in its work directory),
        // and they ran the tasks.
        List<Path> executorLogs = Artifacts.files(workDir).stream().filter(f -> f.getFileName().toString().equals("stderr")).toList();
        assertThat(executorLogs).as("executor logs under %s", workDir).isNotEmpty();
        String logs = String.join("\n", executorLogs.stream().map(Artifacts::read).toList());
        assertThat(logs).contains("Spark Executor Command:").contains("CoarseGrainedExecutorBackend").contains("emovit-spark.jar");
        assertThat(Pattern.compile("Executor: Finished task").matcher(logs).results().count()).as(logs).isGreaterThanOrEqualTo(4);
        assertThat(master.err()).contains("Registering app emovit classify");
    }
}
