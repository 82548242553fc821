package org.emovit.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.emovit.core.Emotion;
import org.emovit.api.EmoVit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** spark classify gives every image a row, and the model's answer. */
class ClassifyJobTest {

    @Test
    void everyImageGetsTheModelsAnswer(@TempDir Path dir) throws Exception {
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

        // the reference: the model itself on each file (what `emovit classify` runs; emovit-smoke's SparkSubmitTest
        // compares the packaged job with the command)
        Map<String, EmoVit.Result> expected = Reference.classify(images);
        assertThat(expected).hasSize(200);
        for (Row r : rows) {
            String key = PathKey.of(r.getAs("path"));
            assertThat(expected).as(key).containsKey(key);
            EmoVit.Result e = expected.get(key);
            assertThat(r.<String>getAs("model")).isEqualTo("emovit-tiny-random");
            assertThat(r.<String>getAs("dtype")).isEqualTo("f32");
            if (r.getAs("error") != null) {
                assertThat(e).as("the model could not read it either").isNull();
                assertThat(r.<String>getAs("sha256")).hasSize(64);
                continue;
            }
            assertThat(r.<String>getAs("emotion")).isEqualTo(e.label());
            double sum = 0;
            for (Emotion em : Emotion.values()) {
                double p = r.getAs(ResultSchema.probability(em));
                sum += p;
                assertThat(p).isCloseTo(e.probabilities().get(em.label()), within(1e-5));
            }
            assertThat(sum).isCloseTo(1.0, within(1e-9));
            assertThat(r.<String>getAs("sha256")).isEqualTo(sha256(Files.readAllBytes(Path.of(PathKey.of(r.getAs("path"))))));
        }
    }

    static String sha256(byte[] bytes) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
