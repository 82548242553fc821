package org.emovit.data;

import org.emovit.data.pipeline.DataPipeline;
import com.fasterxml.jackson.databind.JsonNode;
import org.emovit.core.JsonlFile;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class CaptionStageTest {

    @TempDir
    Path tmp;

    @Test
    void captionsResumesAndRecordsFailuresWithoutStopping() throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp.resolve("emoset"), 3);
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        DataPipeline p = DataPipeline.of(m.root(), tmp.resolve("work"), new PrintStream(progress, true));
        AtomicInteger calls = new AtomicInteger();
        String flaky = TestSets.name(Emotion.SADNESS, 1);
        Captioner c = img -> {
            calls.incrementAndGet();
            if (img.getFileName().toString().startsWith(flaky)) {
                throw new IllegalStateException("model failed");
            }
            return "a small picture " + img.getFileName();
        };
        Selection sel = new Selection("train", 0, 3, EnumSet.allOf(Emotion.class));
        CaptionStage.Report r = p.caption(c, new CaptionStage.Options(sel, 1, true));
        assertThat(r.selected()).isEqualTo(24);
        assertThat(r.captioned()).isEqualTo(22);
        assertThat(r.failed()).isEqualTo(2);
        assertThat(r.issues()).anyMatch(i -> i.item().equals(m.missingImageKey()) && i.reason().contains("image not found"))
                .anyMatch(i -> i.item().equals("sadness/" + flaky) && i.reason().contains("model failed"));
        assertThat(calls.get()).isEqualTo(23);
        Path txt = p.workDir().root().resolve("caption/awe/awe_00101.txt");
        assertThat(Files.readString(txt)).isEqualTo("a small picture awe_00101.jpg");
        List<JsonNode> recs = JsonlFile.read(p.workDir().captionsJsonl()).records();
        assertThat(recs).hasSize(22);
        assertThat(JsonlFile.read(p.workDir().captionErrors()).records()).hasSize(2);
        assertThat(progress.toString()).contains("caption [");

        // rerun: only the failures are tried again
        calls.set(0);
        CaptionStage.Report again = p.caption(c, new CaptionStage.Options(sel, 1, true));
        assertThat(again.alreadyDone()).isEqualTo(22);
        assertThat(calls.get()).isEqualTo(1);
        assertThat(JsonlFile.read(p.workDir().captionsJsonl()).records()).hasSize(22);
    }

    @Test
    void batchesFallBackToSingleImagesAndExistingCaptionsAreAdopted() throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp.resolve("emoset"), 2);
        DataPipeline p = DataPipeline.of(m.root(), tmp.resolve("work"), null);
        Files.createDirectories(p.workDir().root().resolve("caption/anger"));
        Files.writeString(p.workDir().root().resolve("caption/anger/anger_00100.txt"), "from the seed");
        List<Integer> batchSizes = new ArrayList<>();
        Captioner c = new Captioner() {
            @Override
            public String caption(Path image) {
                return "single " + image.getFileName();
            }

            @Override
            public List<String> captionBatch(List<Path> images) {
                batchSizes.add(images.size());
                if (images.stream().anyMatch(i -> i.getFileName().toString().startsWith("awe"))) {
                    throw new IllegalStateException("batch failed");
                }
                return images.stream().map(i -> "batched " + i.getFileName()).toList();
            }
        };
        CaptionStage.Report r = p.caption(c, new CaptionStage.Options(new Selection("train", 0, 2,
                EnumSet.of(Emotion.ANGER, Emotion.AWE, Emotion.DISGUST)), 2, true));
        assertThat(r.adopted()).isEqualTo(1);
        assertThat(r.captioned()).isEqualTo(5);
        assertThat(batchSizes).containsExactly(2, 2, 1);
        assertThat(Files.readString(p.workDir().root().resolve("caption/awe/awe_00100.txt"))).isEqualTo("single awe_00100.png");
        assertThat(Files.readString(p.workDir().root().resolve("caption/disgust/disgust_00101.txt")))
                .isEqualTo("batched disgust_00101.jpg");
        assertThat(JsonlFile.read(p.workDir().captionsJsonl()).records())
                .anyMatch(n -> n.get("source").asText().equals("existing file") && n.get("caption").asText().equals("from the seed"));
    }
}
