package org.emovit.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.bytedeco.pytorch.NoGradGuard;
import org.emovit.attribution.Attribution;
import org.emovit.image.ImageDecoder;
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

    @Test
    void heatmapColumnIsTheMapOfThePredictedEmotionAsComputedInProcess(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        List<Path> files = TestImages.pngs(images, 6, 300);
        TestImages.write(images.resolve("broken/text.png"), "this is not an image".getBytes());
        var spark = TestSpark.session();
        String out = dir.resolve("out.parquet").toString();

        assertThat(SparkMain.run("classify", "--input", images.toString(), "--output", out, "--batch-size", "4", "--heatmap")).isEqualTo(2);

        Dataset<Row> table = spark.read().parquet(out);
        assertThat(table.schema().fieldNames()).contains("heatmap_method", "heatmap_emotion", "heatmap");
        // Parquet reads every column back nullable, so only the element type is checked
        assertThat(((ArrayType) table.schema().apply("heatmap").dataType()).elementType()).isEqualTo(DataTypes.FloatType);
        List<Row> rows = table.collectAsList();
        assertThat(rows).hasSize(7);
        Map<String, Row> byPath = new java.util.HashMap<>();
        rows.forEach(r -> byPath.put(PathKey.of(r.getAs("path")), r));
        Row broken = byPath.get(PathKey.of(images.resolve("broken/text.png").toString()));
        assertThat(broken.<String>getAs("error")).isNotNull();
        assertThat((Object) broken.getAs("heatmap")).isNull();
        assertThat(broken.<String>getAs("heatmap_method")).isNull();

        try (NoGradGuard noGrad = new NoGradGuard(); EmoVit model = Reference.TINY.open()) {
            Attribution attribution = new Attribution(model);
            int side = attribution.gridSide();
            for (Path f : files) {
                Row r = byPath.get(PathKey.of(f.toString()));
                assertThat(r.<String>getAs("heatmap_method")).isEqualTo("grad-cam");
                assertThat(r.<String>getAs("heatmap_emotion")).isEqualTo(r.<String>getAs("emotion"));
                List<Float> grid = r.getList(r.fieldIndex("heatmap"));
                assertThat(grid).hasSize(side * side);
                double sum = 0;
                for (float w : grid) {
                    assertThat(w).isGreaterThanOrEqualTo(0f);
                    sum += w;
                }
                assertThat(sum).as(f.toString()).isCloseTo(1.0, within(1e-5));
                float[] expected = attribution.gradCam(ImageDecoder.decode(f), Emotion.fromLabel(r.getAs("emotion")).orElseThrow()).weights();
                // not uniform: a map that ignored the image would pass the sum check
                float max = 0;
                for (float w : expected) {
                    max = Math.max(max, w);
                }
                assertThat(max).isGreaterThan(1.5f / expected.length);
                for (int i = 0; i < expected.length; i++) {
                    assertThat(grid.get(i)).as(f + " patch " + i).isCloseTo(expected[i], within(1e-6f));
                }
            }

            // rollout through the transformer: the Q-Former's attention, the same in process
            Dataset<Row> one = spark.read().format("binaryFile").load(files.get(0).toString());
            Row r = new EmoVitClassifier().setHeatmap("rollout").transform(one).collectAsList().get(0);
            assertThat(r.<String>getAs("heatmap_method")).isEqualTo("rollout");
            float[] expected = attribution.rollout(ImageDecoder.decode(files.get(0)), Emotion.fromLabel(r.getAs("emotion")).orElseThrow()).weights();
            List<Float> grid = r.getList(r.fieldIndex("heatmap"));
            for (int i = 0; i < expected.length; i++) {
                assertThat(grid.get(i)).isCloseTo(expected[i], within(1e-6f));
            }
        }
    }

    @Test
    void anUnknownHeatmapMethodIsOneErrorBeforeSparkRuns(@TempDir Path dir) {
        assertThatThrownBy(() -> new EmoVitClassifier().setHeatmap("saliency").heatmapMethod())
                .hasMessageContaining("grad-cam or rollout").hasMessageContaining("saliency");
    }

    static String sha256(byte[] bytes) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
