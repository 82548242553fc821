package org.emovit.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructField;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** EmoVitClassifier as a stage of a user's ML Pipeline: the rows `spark classify` writes, params that copy and save. */
class EmoVitClassifierTest {

    /** path -> the row as column name -> value */
    private static Map<String, Map<String, Object>> byPath(List<Row> rows) {
        Map<String, Map<String, Object>> out = new HashMap<>();
        for (Row r : rows) {
            Map<String, Object> values = new HashMap<>();
            for (StructField f : r.schema().fields()) {
                values.put(f.name(), r.getAs(f.name()));
            }
            out.put(r.getAs("path"), values);
        }
        return out;
    }

    @Test
    void inAPipelineItGivesTheRowsOfSparkClassify(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        TestImages.pngs(images, 9, 500);
        TestImages.broken(images);
        var spark = TestSpark.session();

        String out = dir.resolve("job.parquet").toString();
        assertThat(SparkMain.run("classify", "--input", images.toString(), "--output", out, "--batch-size", "1")).isEqualTo(2);
        Map<String, Map<String, Object>> job = byPath(spark.read().parquet(out).collectAsList());

        // what a user writes: Spark's binaryFile source (path, modificationTime, length, content) into a pipeline
        Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(images.toString());
        EmoVitClassifier classifier = new EmoVitClassifier().setBatchSize(1);
        PipelineModel model = new Pipeline().setStages(new PipelineStage[] {classifier}).fit(files);
        Dataset<Row> classified = model.transform(files);
        assertThat(classified.schema()).isEqualTo(ResultSchema.CLASSIFY);
        Map<String, Map<String, Object>> pipeline = byPath(classified.collectAsList());

        assertThat(pipeline).hasSize(14).isEqualTo(job);
        assertThat(pipeline.values()).filteredOn(v -> v.get("error") != null).hasSize(5);
    }

    @Test
    void rowsNameThePrecisionOneWayHoweverItWasSpelt(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        TestImages.pngs(images, 2, 700);
        var spark = TestSpark.session();
        Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(images.toString());
        List<Row> rows = new EmoVitClassifier().setDtype("bfloat16").transform(files).collectAsList();
        assertThat(rows).hasSize(2).allSatisfy(r -> {
            assertThat(r.<String>getAs("dtype")).isEqualTo("bf16");
            assertThat(r.<String>getAs("error")).isNull();
        });

        String out = dir.resolve("job.parquet").toString();
        assertThat(SparkMain.run("classify", "--input", images.toString(), "--output", out, "--dtype", "BFloat16")).isZero();
        assertThat(spark.read().parquet(out).collectAsList()).allSatisfy(r -> assertThat(r.<String>getAs("dtype")).isEqualTo("bf16"));
    }

    @Test
    void paramsAreCheckedCopiedAndSaved(@TempDir Path dir) throws Exception {
        var spark = TestSpark.session();
        TestImages.pngs(dir.resolve("images"), 1, 900);
        Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(dir.resolve("images").toString());

        EmoVitClassifier c = new EmoVitClassifier().setMode("generate").setBatchSize(3).setExplain(true).setDtype("bf16");
        assertThat(c.transformSchema(files.schema())).isEqualTo(ResultSchema.CLASSIFY);
        assertThatThrownBy(() -> c.copy(ParamMap.empty()).setContentCol("bytes").transformSchema(files.schema()))
                .hasMessageContaining("no column 'bytes' (contentCol)");
        assertThatThrownBy(() -> c.copy(ParamMap.empty()).setDtype("f16").transformSchema(files.schema()))
                .hasMessageContaining("--dtype must be f32, bf16 or auto, not 'f16'");
        assertThatThrownBy(() -> c.copy(ParamMap.empty()).setMode("vote").transformSchema(files.schema()))
                .hasMessageContaining("mode must be score or generate, not 'vote'");

        EmoVitClassifier copy = c.copy(new ParamMap().put(c.batchSize().w(7)));
        assertThat(copy.uid()).isEqualTo(c.uid());
        assertThat(copy.getOrDefault(copy.batchSize())).isEqualTo(7);
        assertThat(copy.modeValue()).isEqualTo(c.modeValue());
        assertThat(c.getOrDefault(c.batchSize())).isEqualTo(3);

        String saved = dir.resolve("saved").toString();
        c.write().save(saved);
        EmoVitClassifier loaded = EmoVitClassifier.load(saved);
        assertThat(loaded.uid()).isEqualTo(c.uid());
        assertThat(loaded.modelSpec()).isEqualTo(c.modelSpec());
        assertThat(loaded.explanation()).isEqualTo(c.explanation()).isNotNull();
        assertThat(loaded.getOrDefault(loaded.batchSize())).isEqualTo(3);
    }
}
