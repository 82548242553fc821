package org.emovit.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images named in a table (a path column) or held in one (a bytes column) give the answers the files give. */
class TableInputTest {

    @Test
    void pathAndBytesColumnsGiveTheSameAnswersAsTheFiles(@TempDir Path dir) throws Exception {
        SparkSession spark = TestSpark.session();
        List<Path> images = TestImages.pngs(dir.resolve("images"), 6, 5000);

        StringBuilder csv = new StringBuilder("id,image\n");
        for (int i = 0; i < images.size(); i++) {
            csv.append(i).append(',').append(images.get(i)).append('\n');
        }
        csv.append("6,").append(dir.resolve("images/missing.png")).append('\n');
        Files.writeString(dir.resolve("list.csv"), csv);

        List<Row> rows = new ArrayList<>();
        for (Path p : images) {
            rows.add(RowFactory.create(Files.readAllBytes(p)));
        }
        StructType bytesSchema = new StructType().add("jpeg", DataTypes.BinaryType);
        spark.createDataFrame(rows, bytesSchema).write().parquet(dir.resolve("bytes.parquet").toString());

        String files = dir.resolve("files.parquet").toString();
        String byPath = dir.resolve("by-path.parquet").toString();
        String byBytes = dir.resolve("by-bytes.parquet").toString();
        assertThat(SparkMain.run("classify", "--input", dir.resolve("images").toString(), "--output", files)).isZero();
        assertThat(SparkMain.run("classify", "--format", "csv", "--input", dir.resolve("list.csv").toString(), "--path-column", "image",
                "--output", byPath)).isEqualTo(2);
        assertThat(SparkMain.run("classify", "--format", "parquet", "--input", dir.resolve("bytes.parquet").toString(),
                "--bytes-column", "jpeg", "--output", byBytes)).isZero();

        Map<String, Row> expected = bySha(spark, files);
        assertThat(expected).hasSize(6);
        assertSameAnswers(bySha(spark, byBytes), expected);
        List<Row> pathRows = spark.read().parquet(byPath).collectAsList();
        assertThat(pathRows).hasSize(7);
        assertThat(pathRows.stream().filter(r -> r.getAs("error") != null).toList()).singleElement()
                .satisfies(r -> assertThat(r.<String>getAs("error")).contains("missing.png").contains("cannot read"));
        assertSameAnswers(bySha(spark, byPath), expected);

        // a column that is not there: one line naming the file and the column
        assertThat(SparkMain.run("classify", "--format", "csv", "--input", dir.resolve("list.csv").toString(),
                "--output", dir.resolve("x.parquet").toString())).isEqualTo(1);
    }

    private static Map<String, Row> bySha(SparkSession spark, String parquet) {
        return spark.read().parquet(parquet).where("error is null").collectAsList().stream()
                .collect(Collectors.toMap(r -> r.<String>getAs("sha256"), r -> r));
    }

    /** The same emotion and probabilities (batches of other images around an image change float rounding only). */
    private static void assertSameAnswers(Map<String, Row> actual, Map<String, Row> expected) {
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        expected.forEach((sha, e) -> {
            Row a = actual.get(sha);
            assertThat(a.<String>getAs("emotion")).isEqualTo(e.getAs("emotion"));
            for (Emotion em : Emotion.values()) {
                assertThat(a.<Double>getAs(ResultSchema.probability(em))).isCloseTo(e.getAs(ResultSchema.probability(em)), within(1e-5));
            }
        });
    }
}
