package org.emovit.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.emovit.core.Emotion;
import org.emovit.core.Prompts;
import org.emovit.generate.GenerationConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * spark caption gives every image the caption the data pipeline's captioners give it (each image alone, as `emovit data
 * caption` does by default), with either captioner.
 */
class CaptionJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A tiny EmoSet: 2 images per class and train.json. */
    private static Path emoset(Path dir) throws Exception {
        Path emoset = dir.resolve("EmoSet");
        List<List<String>> train = new ArrayList<>();
        int seed = 4000;
        for (Emotion e : Emotion.values()) {
            for (int i = 0; i < 2; i++) {
                String name = e.label() + "_" + String.format("%05d", e.ordinal() * 10 + i);
                TestImages.write(emoset.resolve("image/" + e.label() + "/" + name + ".jpg"), TestImages.png(seed++));
                TestImages.write(emoset.resolve("annotation/" + e.label() + "/" + name + ".json"),
                        ("{\"emotion\": \"" + e.label() + "\"}").getBytes(StandardCharsets.UTF_8));
                train.add(List.of(e.label(), "image/" + e.label() + "/" + name + ".jpg", "annotation/" + e.label() + "/" + name + ".json"));
            }
        }
        Files.writeString(emoset.resolve("train.json"), JSON.writeValueAsString(train));
        return emoset;
    }

    /** image path -> caption, as `emovit data caption` makes them with --caption-tokens 6 and these beams. */
    private static Map<String, String> reference(Path emoset, Path blip2, int beams) throws Exception {
        return Reference.captions(Reference.files(emoset.resolve("image")), blip2, Prompts.CAPTION_INSTRUCTION,
                new GenerationConfig(beams, 6, 1, 1.0, 1.0));
    }

    private static Map<String, String> sparkCaption(Path emoset, Path out, String... options) {
        List<String> args = new ArrayList<>(List.of("caption", "--format", "emoset", "--input", emoset.resolve("train.json").toString(),
                "--output", out.toString()));
        args.addAll(List.of(options));
        assertThat(SparkMain.run(args.toArray(String[]::new))).isZero();
        Map<String, String> captions = new HashMap<>();
        for (Row r : TestSpark.session().read().parquet(out.toString()).collectAsList()) {
            assertThat(r.<String>getAs("error")).isNull();
            captions.put(PathKey.of(r.getAs("path")), r.getAs("caption"));
        }
        return captions;
    }

    @Test
    void instructBlipCaptionsEqualTheDataPipeline(@TempDir Path dir) throws Exception {
        Path emoset = emoset(dir);
        TestSpark.session();
        String[] decoding = {"--caption-tokens", "6", "--caption-beams", "2"};
        Map<String, String> expected = reference(emoset, null, 2);
        Map<String, String> actual = sparkCaption(emoset, dir.resolve("captions.parquet"), decoding);
        assertThat(actual).hasSize(16).isEqualTo(expected);
        assertThat(actual.values()).allSatisfy(c -> assertThat(c).isNotNull());
    }

    @Test
    void blip2OptCaptionsEqualTheDataPipeline(@TempDir Path dir) throws Exception {
        Path emoset = emoset(dir);
        TestSpark.session();
        Path blip2 = Paths.get(CaptionJobTest.class.getClassLoader().getResource("tiny-blip2-opt").toURI());
        String[] options = {"--blip2", blip2.toString(), "--caption-tokens", "6", "--caption-beams", "3"};
        Map<String, String> expected = reference(emoset, blip2, 3);
        Map<String, String> actual = sparkCaption(emoset, dir.resolve("captions.parquet"), options);
        assertThat(actual).hasSize(16).isEqualTo(expected);
    }
}
