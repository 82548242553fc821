package org.emovit.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.emovit.smoke.Artifacts.emovit;
import static org.emovit.smoke.Artifacts.sparkSubmit;
import static org.emovit.smoke.Inputs.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.emovit.smoke.Artifacts.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code emovit-spark.jar} through Spark's own {@code SparkSubmit} in local mode (the Spark distribution's jars, not
 * Maven's class path): classify, caption and eval, each checked against {@code ./emovit} on the same images.
 */
class SparkSubmitTest {
    static final List<String> LOCAL = List.of("--master", "local[2]");

    @Test
    void classifyThenEvalGiveWhatClassifyAndEvalGive(@TempDir Path dir) throws Exception {
        Path emoset = Inputs.emoset(dir.resolve("emoset"), 1);
        Path images = emoset.resolve("image");
        Result local = emovit(dir, "classify", images.toString());
        assertThat(local.code()).as(local.both()).isZero();
        Map<String, JsonNode> classified = Inputs.byFileName(local.jsonLines(), "image");
        assertThat(classified).hasSize(8);

        Path parquet = dir.resolve("classified");
        // with --heatmap, so the attribution's classes are checked in the shaded jar too (the grids themselves are
        // compared with the in-process maps in emovit-spark's ClassifyJobTest)
        Result r = sparkSubmit(dir, LOCAL, "classify", "--input", images.toString(), "--output", parquet.toString(), "--heatmap");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("classified 8 image(s), 0 with an error");
        SparkResults.assertEqualToClassify(parquet, classified);
        assertThat(SparkResults.rows(parquet)).allSatisfy(row -> {
            assertThat((String) row.getAs("dtype")).isEqualTo("f32");
            assertThat((String) row.getAs("heatmap_method")).isEqualTo("grad-cam");
            assertThat((String) row.getAs("heatmap_emotion")).isEqualTo(row.getAs("emotion"));
            List<Float> grid = row.getList(row.fieldIndex("heatmap"));
            assertThat(grid).hasSize(4);   // the embedded tiny model's 2 x 2 patches (28 px, 14 px patches)
            assertThat(grid.stream().mapToDouble(Float::doubleValue).sum()).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-5));
        });

        Path sparkEval = dir.resolve("spark-eval");
        Result e = sparkSubmit(dir, LOCAL, "eval", "--input", parquet.toString(), "--labels", emoset.resolve("test.json").toString(),
                "--out", sparkEval.toString());
        assertThat(e.code()).as(e.both()).isZero();
        Path cliEval = dir.resolve("cli-eval");
        Result c = emovit(dir, "eval", "--dataset", emoset.resolve("test.json").toString(), "--out", cliEval.toString());
        assertThat(c.code()).as(c.both()).isZero();
        JsonNode fromSpark = JSON.readTree(sparkEval.resolve("metrics.json").toFile());
        JsonNode fromCli = JSON.readTree(cliEval.resolve("metrics.json").toFile());
        assertThat(fromSpark.get("total").asInt()).isEqualTo(8);
        for (String key : new String[] {"total", "correct", "accuracy", "macro_f1"}) {
            assertThat(fromSpark.get(key)).as(key).isEqualTo(fromCli.get(key));
        }
        assertThat(Files.readString(sparkEval.resolve("confusion.csv"))).isEqualTo(Files.readString(cliEval.resolve("confusion.csv")));
    }

    @Test
    void captionWritesACaptionForEveryImageAndAnErrorForABrokenOne(@TempDir Path dir) throws Exception {
        Path images = Inputs.images(dir.resolve("images"), 3);
        Files.writeString(images.resolve("broken.jpg"), "not a picture");
        Path parquet = dir.resolve("captions");
        Result r = sparkSubmit(dir, LOCAL, "caption", "--caption-tokens", "6", "--caption-beams", "1", "--input", images.toString(), "--output", parquet.toString());
        assertThat(r.code()).as(r.both()).isEqualTo(2);   // a failed image is reported in the exit code, after the rest
        List<Row> rows = SparkResults.rows(parquet);
        assertThat(rows).hasSize(4);
        for (Row row : rows) {
            String name = SparkResults.fileName(row.getAs("path"));
            if (name.equals("broken.jpg")) {
                assertThat((String) row.getAs("error")).contains("broken.jpg");
            } else {
                assertThat((Object) row.getAs("error")).as(name).isNull();
                assertThat((String) row.getAs("caption")).as(name).isNotBlank();
            }
        }
    }
}
