package org.emovit.data;

import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmoSetTest {

    @TempDir
    Path tmp;

    @Test
    void readsTheSplitInListOrderPerClassAndReportsBadEntries() throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp, 3);
        EmoSet set = EmoSet.open(tmp);
        SplitList train = set.split("train");
        assertThat(train.entries()).hasSize(24);
        assertThat(train.issues()).hasSize(2);
        assertThat(train.issues().get(0).reason()).contains("unknown emotion 'joy'");
        assertThat(train.issues().get(1).reason()).contains("not a list of");
        List<SplitEntry> awe = train.ofClass(Emotion.AWE);
        assertThat(awe).extracting(SplitEntry::name).containsExactly("awe_00100", "awe_00101", "awe_00102");
        assertThat(awe).extracting(SplitEntry::index).containsExactly(0, 1, 2);
        assertThat(awe.get(1).id()).isEqualTo("00101");
        assertThat(awe.get(1).imageFileName()).isEqualTo("awe_00101.jpg");
        assertThat(awe.get(0).imagePath()).isEqualTo("image/awe/awe_00100.png");

        SplitList.Selected sel = train.select(new Selection("train", 1, 5, EnumSet.of(Emotion.AWE, Emotion.ANGER)));
        assertThat(sel.entries()).extracting(SplitEntry::key)
                .containsExactly("anger/anger_00101", "anger/anger_00102", "awe/awe_00101", "awe/awe_00102");
        assertThat(sel.notes()).hasSize(2).allMatch(n -> n.reason().contains("indices 3..4 do not exist"));
        assertThat(set.split("val").entries()).hasSize(8);
    }

    @Test
    void keepsUnknownFieldsAndTypedOptionalOnes() throws Exception {
        TestSets.emoSet(tmp, 3);
        EmoSet set = EmoSet.open(tmp);
        SplitList train = set.split("train");
        Annotation full = set.annotation(train.ofClass(Emotion.AWE).get(0));
        assertThat(full.emotion()).isEqualTo("awe");
        assertThat(full.brightness()).hasValue(0.0);
        assertThat(full.colorfulness()).hasValue(1.0);
        assertThat(full.scene()).hasValue("street");
        assertThat(full.objects()).containsExactly("Toy", "Person's hat");
        assertThat(full.facialExpression()).hasValue("happy");
        assertThat(full.humanAction()).hasValue("running");
        assertThat(full.unknownFields()).containsOnlyKeys("source_id");
        Annotation minimal = set.annotation(train.ofClass(Emotion.AWE).get(1));
        assertThat(minimal.brightness()).isEmpty();
        assertThat(minimal.objects()).isEmpty();
        assertThat(minimal.unknownFields()).isEmpty();
        Annotation some = set.annotation(train.ofClass(Emotion.AWE).get(2));
        assertThat(some.unknownFields()).containsOnlyKeys("notes");
        assertThat(some.unknownFields().get("notes").get("rater").asInt()).isEqualTo(2);
    }

    @Test
    void malformedAndMissingAnnotationsNameTheirFile() throws Exception {
        TestSets.Made m = TestSets.emoSet(tmp, 3);
        EmoSet set = EmoSet.open(tmp);
        SplitEntry bad = set.split("train").ofClass(Emotion.ANGER).get(1);
        assertThatThrownBy(() -> set.annotation(bad)).isInstanceOf(MalformedDataException.class)
                .hasMessageContaining(m.malformedFile().toString()).hasMessageContaining("malformed annotation");
        Files.writeString(m.malformedFile(), "[1, 2]");
        assertThatThrownBy(() -> set.annotation(bad)).hasMessageContaining("not a JSON object");
        Files.writeString(m.malformedFile(), "{\"brightness\": 0.2}");
        assertThatThrownBy(() -> set.annotation(bad)).hasMessageContaining("no 'emotion'");
        Files.writeString(m.malformedFile(), "{\"emotion\": \"anger\"} trailing");
        assertThatThrownBy(() -> set.annotation(bad)).isInstanceOf(MalformedDataException.class);
        Files.delete(m.malformedFile());
        assertThatThrownBy(() -> set.annotation(bad)).isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(m.malformedFile().toString());
        assertThatThrownBy(() -> set.split("test")).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void ownImagesGetPixelAttributesAndASplitList() throws Exception {
        TestSets.writeImage(tmp.resolve("image/awe/mountain.png"), "png", 1, 2);
        TestSets.writeImage(tmp.resolve("image/awe/lake.jpg"), "jpg", 3, 4);
        TestSets.writeImage(tmp.resolve("image/fear/dark.png"), "png", 0, 0);
        Files.writeString(tmp.resolve("image/fear/broken.jpg"), "not an image");
        Files.writeString(tmp.resolve("image/fear/readme.txt"), "x");
        Files.createDirectories(tmp.resolve("annotation/awe"));
        Files.writeString(tmp.resolve("annotation/awe/lake.json"), "{\"emotion\": \"awe\", \"scene\": \"lake\"}");
        EmoSet set = EmoSet.open(tmp);
        AnnotateStage.Report r = new AnnotateStage(set, null).run(AnnotateStage.Options.defaults());
        assertThat(r.images()).isEqualTo(4);
        assertThat(r.kept()).isEqualTo(1);
        assertThat(r.written()).isEqualTo(2);
        assertThat(r.issues()).anyMatch(i -> i.path().endsWith("broken.jpg")).anyMatch(i -> i.path().endsWith("readme.txt"));
        String ann = Files.readString(tmp.resolve("annotation/awe/mountain.json"));
        assertThat(ann).matches("\\{\"emotion\": \"awe\", \"brightness\": (0\\.\\d|1\\.0), \"colorfulness\": (0\\.\\d|1\\.0)\\}");
        SplitList train = set.split("train");
        assertThat(train.entries()).extracting(SplitEntry::key).containsExactly("awe/lake", "awe/mountain", "fear/dark");
        assertThat(set.annotation(train.entries().get(2)).brightness()).isPresent();
    }

    @Test
    void anImageListedTwiceIsSelectedOnce() throws Exception {
        TestSets.emoSet(tmp, 2);
        Files.writeString(tmp.resolve("dup.json"), "[[\"awe\", \"image/awe/awe_00100.png\", \"annotation/awe/awe_00100.json\"],"
                + " [\"awe\", \"image/awe/awe_00100.png\", \"annotation/awe/awe_00100.json\"],"
                + " [\"awe\", \"image/awe/awe_00101.jpg\", \"annotation/awe/awe_00101.json\"]]");
        SplitList dup = EmoSet.open(tmp).split("dup.json");
        assertThat(dup.ofClass(Emotion.AWE)).hasSize(3);
        SplitList.Selected sel = dup.select(Selection.all("dup.json"));
        assertThat(sel.entries()).extracting(SplitEntry::name).containsExactly("awe_00100", "awe_00101");
        assertThat(sel.notes()).singleElement().satisfies(n -> assertThat(n.reason()).contains("listed more than once"));
    }
}
