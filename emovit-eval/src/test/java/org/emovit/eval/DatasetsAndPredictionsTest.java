package org.emovit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsAndPredictionsTest {

    @Test
    void emosetSplitResolvesImagesAndReportsProblems(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("image/awe"));
        Files.write(dir.resolve("image/awe/awe_00001.jpg"), new byte[] {1});
        Files.writeString(dir.resolve("test.json"), "[[\"awe\", \"image/awe/awe_00001.jpg\", \"annotation/awe/awe_00001.json\"],"
                + " [\"fear\", \"image/fear/fear_00002.jpg\", \"annotation/fear/fear_00002.json\"], [\"broken\"]]");
        LabelledDataset ds = Datasets.open(dir.resolve("test.json"), null);
        assertThat(ds.items()).hasSize(1);
        assertThat(ds.items().get(0).id()).isEqualTo("image/awe/awe_00001.jpg");
        assertThat(ds.items().get(0).gold()).isEqualTo(Emotion.AWE);
        assertThat(ds.problems()).hasSize(2);
        assertThat(ds.problems().get(0)).contains("fear_00002.jpg");
        assertThat(ds.problems().get(1)).contains("entry 2");
    }

    @Test
    void folderPerClassWithAMapping(@TempDir Path dir) throws Exception {
        for (String c : new String[] {"joy", "fear", "neutral"}) {
            Files.createDirectories(dir.resolve("set/" + c));
            Files.write(dir.resolve("set/" + c + "/1.png"), new byte[] {1});
        }
        Files.writeString(dir.resolve("map.csv"), "joy,amusement\n# neutral has no emotion\n");
        LabelledDataset ds = Datasets.open(dir.resolve("set"), dir.resolve("map.csv"));
        assertThat(ds.items()).extracting(LabelledImage::gold).containsExactlyInAnyOrder(Emotion.AMUSEMENT, Emotion.FEAR);
        assertThat(ds.problems()).singleElement().asString().contains("neutral");
    }

    @Test
    void predictionsResumeAfterACutOffLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("p.jsonl");
        try (PredictionsFile p = PredictionsFile.open(file)) {
            p.append(new Prediction("a", "a.jpg", "awe", "awe", Map.of("awe", 1.0), null, null));
            p.append(new Prediction("b", "b.jpg", "fear", null, Map.of(), null, "not an image"));
        }
        Files.writeString(file, Files.readString(file) + "{\"id\":\"c\",\"ima", java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
        try (PredictionsFile p = PredictionsFile.open(file)) {
            assertThat(p.done()).containsExactly("a");
            assertThat(p.all()).hasSize(1);   // the failed "b" is tried again
            p.append(new Prediction("c", "c.jpg", "awe", "fear", Map.of(), null, null));
        }
        try (PredictionsFile p = PredictionsFile.open(file)) {
            assertThat(p.done()).containsExactly("a", "c");
        }
        assertThat(Files.readAllLines(file)).hasSize(2);   // one line per image, always
    }
}
