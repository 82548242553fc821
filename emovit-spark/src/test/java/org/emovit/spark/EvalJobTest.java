package org.emovit.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** spark eval on a classify output reports exactly what `emovit eval` reports for the same labelled set. */
class EvalJobTest {

    @Test
    void metricsEqualEmovitEval(@TempDir Path dir) throws Exception {
        Path set = dir.resolve("set");
        int seed = 3000;
        for (Emotion e : Emotion.values()) {
            for (int i = 0; i < 3; i++) {
                TestImages.write(set.resolve(e.label() + "/" + e.label() + " " + i + ".png"), TestImages.png(seed++));
            }
        }
        TestImages.write(set.resolve("fear/broken.png"), "not an image".getBytes(StandardCharsets.UTF_8));
        TestSpark.session();

        String out = dir.resolve("classified.parquet").toString();
        assertThat(SparkMain.run("classify", "--input", set.toString(), "--output", out)).isEqualTo(2);
        assertThat(SparkMain.run("eval", "--input", out, "--labels", set.toString(), "--out", dir.resolve("spark-eval").toString()))
                .isZero();

        PrintStream err = System.err;
        PrintStream stdout = System.out;
        int cli;
        try {
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            cli = org.emovit.cli.Main.run("eval", "--dataset", set.toString(), "--out", dir.resolve("cli-eval").toString());
        } finally {
            System.setErr(err);
            System.setOut(stdout);
        }
        assertThat(cli).isEqualTo(2);
        for (String file : new String[] {"metrics.json", "confusion.csv"}) {
            assertThat(Files.readString(dir.resolve("spark-eval").resolve(file)))
                    .as(file).isEqualTo(Files.readString(dir.resolve("cli-eval").resolve(file)));
        }
        assertThat(Files.readString(dir.resolve("spark-eval/metrics.json"))).contains("\"total\" : 24").contains("\"failed\" : 1");
    }
}
