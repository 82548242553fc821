package org.emovit.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.emovit.core.Emotion;
import org.emovit.eval.Datasets;
import org.emovit.eval.LabelledImage;
import org.emovit.eval.Metrics;
import org.emovit.eval.Prediction;
import org.emovit.api.EmoVit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** spark eval on a classify output reports exactly the metrics of the model's answers on the same labelled set. */
class EvalJobTest {

    @Test
    void metricsEqualThoseOfTheModelsAnswers(@TempDir Path dir) throws Exception {
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

        // the reference: emovit-eval's metrics of the model's answers, image by image (what `emovit eval` computes;
        // emovit-smoke's SparkSubmitTest compares the packaged job with the command)
        Map<String, EmoVit.Result> answers = Reference.classify(set);
        List<Prediction> predictions = new ArrayList<>();
        for (LabelledImage item : Datasets.open(set, null).items()) {
            EmoVit.Result r = answers.get(PathKey.of(item.image().toString()));
            predictions.add(new Prediction(item.id(), item.image().toString(), item.goldLabel(), r == null ? null : r.label(), Map.of(),
                    null, r == null ? "unreadable" : null));
        }
        Metrics reference = Metrics.of(predictions);
        Files.createDirectories(dir.resolve("reference"));
        reference.writeJson(dir.resolve("reference/metrics.json"));
        reference.writeCsv(dir.resolve("reference/confusion.csv"));
        for (String file : new String[] {"metrics.json", "confusion.csv"}) {
            assertThat(Files.readString(dir.resolve("spark-eval").resolve(file)))
                    .as(file).isEqualTo(Files.readString(dir.resolve("reference").resolve(file)));
        }
        assertThat(Files.readString(dir.resolve("spark-eval/metrics.json"))).contains("\"total\" : 24").contains("\"failed\" : 1");
    }
}
