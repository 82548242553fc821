package org.emovit.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** spark classify gives every image a row, and the same answer as `emovit classify`. */
class ClassifyJobTest {

    @Test
    void everyImageGetsTheAnswerOfEmovitClassify(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        TestImages.pngs(images, 195, 0);
        TestImages.broken(images);
        var spark = TestSpark.session();
        String out = dir.resolve("out.parquet").toString();

        int code = SparkMain.run("classify", "--input", images.toString(), "--output", out, "--batch-size", "8");
        assertThat(code).isEqualTo(2);   // some images failed, as emovit classify says

        List<Row> rows = spark.read().parquet(out).collectAsList();
        assertThat(rows).hasSize(200);
        assertThat(rows.stream().map(r -> r.<String>getAs("path")).distinct()).hasSize(200);
        assertThat(rows.stream().filter(r -> r.getAs("error") != null)).hasSize(5)
                .allSatisfy(r -> assertThat(r.<String>getAs("path")).contains("/broken/"))
                .allSatisfy(r -> assertThat(r.<String>getAs("error")).contains("broken/"));

        // the reference: `emovit classify` on the same folder (JSON Lines, probabilities rounded to 1e-6)
        Path jsonl = dir.resolve("cli.jsonl");
        PrintStream err = System.err;
        int cli;
        try {
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            cli = org.emovit.cli.Main.run("classify", images.toString(), "--output", jsonl.toString());
        } finally {
            System.setErr(err);
        }
        assertThat(cli).isEqualTo(2);
        Map<String, JsonNode> expected = new HashMap<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(jsonl)) {
            JsonNode n = json.readTree(line);
            expected.put(PathKey.of(n.get("image").asText()), n);
        }
        assertThat(expected).hasSize(200);
        for (Row r : rows) {
            JsonNode e = expected.get(PathKey.of(r.getAs("path")));
            assertThat(e).as(r.<String>getAs("path")).isNotNull();
            assertThat(r.<String>getAs("model")).isEqualTo("emovit-tiny-random");
            assertThat(r.<String>getAs("dtype")).isEqualTo("f32");
            if (r.getAs("error") != null) {
                assertThat(e.hasNonNull("error")).isTrue();
                assertThat(r.<String>getAs("sha256")).hasSize(64);
                continue;
            }
            assertThat(r.<String>getAs("emotion")).isEqualTo(e.get("emotion").asText());
            double sum = 0;
            for (Emotion em : Emotion.values()) {
                double p = r.getAs(ResultSchema.probability(em));
                sum += p;
                assertThat(p).isCloseTo(e.get("probabilities").get(em.label()).asDouble(), within(1e-5));
            }
            assertThat(sum).isCloseTo(1.0, within(1e-9));
            assertThat(r.<String>getAs("sha256")).isEqualTo(sha256(Files.readAllBytes(Path.of(PathKey.of(r.getAs("path"))))));
        }
    }

    static String sha256(byte[] bytes) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
