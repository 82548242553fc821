package org.emovit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlFileTest {

    record Item(String image, String emotion, Double p, String error) {}

    @Test
    void aWriteCutAtEveryByteOfTheLastRecordLosesOnlyThatRecordWhichResumeWritesAgain(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("out.jsonl");
        List<Item> items = List.of(new Item("a.jpg", "awe", 0.5, null), new Item("b/ü.png", "fear", 0.25, null),
                new Item("c.gif", "sadness", 0.125, null));
        try (JsonlFile f = JsonlFile.open(file)) {
            for (Item i : items) {
                f.append(i);
            }
        }
        byte[] whole = Files.readAllBytes(file);
        int lastStart = whole.length - 1;
        while (whole[lastStart - 1] != '\n') {
            lastStart--;
        }
        for (int cut = lastStart; cut < whole.length; cut++) {
            Files.write(file, Arrays.copyOf(whole, cut));   // the process died after writing `cut` bytes
            assertThat(JsonlFile.read(file, Item.class).records()).as("cut at %d", cut).containsExactly(items.get(0), items.get(1));
            try (JsonlFile f = JsonlFile.open(file)) {      // resume: the cut record is done again
                assertThat(Files.size(file)).isEqualTo(lastStart);
                f.append(items.get(2));
            }
            assertThat(Files.readAllBytes(file)).as("cut at %d", cut).isEqualTo(whole);
            assertThat(JsonlFile.read(file, Item.class).records()).containsExactlyElementsOf(items);
        }
    }

    @Test
    void nullFieldsAreLeftOutAndBadLinesAreReportedNotFatal(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("x.jsonl");
        try (JsonlFile f = JsonlFile.open(file)) {
            f.appendAll(List.of(new Item("a", "awe", null, null), new Item("b", null, null, "not an image")));
        }
        assertThat(Files.readString(file)).isEqualTo("{\"image\":\"a\",\"emotion\":\"awe\"}\n{\"image\":\"b\",\"error\":\"not an image\"}\n");
        Files.writeString(file, Files.readString(file) + "garbage\n[1]\n", StandardCharsets.UTF_8);
        Files.write(file, new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, '"', '}', '\n'}, java.nio.file.StandardOpenOption.APPEND);
        JsonlFile.Contents<JsonNode> c = JsonlFile.read(file);
        assertThat(c.records()).hasSize(2);
        assertThat(c.problems()).hasSize(3).allMatch(p -> p.startsWith(file + ":"));
        assertThat(c.problems().get(2)).contains(":5: not UTF-8 text");
    }

    @Test
    void resultsFileKeepsOneLinePerItemAndRefusesAnotherRunsResults(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("r.jsonl");
        Map<String, String> run = Map.of("model", "m1", "mode", "score");
        try (ResultsFile r = ResultsFile.open(file, "image", run, false)) {
            r.append(new Item("a", "awe", 1.0, null));
            r.append(new Item("b", null, null, "truncated file"));
        }
        try (ResultsFile r = ResultsFile.open(file, "image", run, false)) {
            assertThat(r.done()).containsExactly("a");          // b failed: it is tried again
            r.append(new Item("b", null, null, "truncated file"));
        }
        try (ResultsFile r = ResultsFile.open(file, "image", run, false)) {
            r.append(new Item("b", "fear", 0.9, null));
        }
        assertThat(Files.readAllLines(file)).hasSize(2);
        assertThatThrownBy(() -> ResultsFile.open(file, "image", Map.of("model", "m2", "mode", "score"), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("another run").hasMessageContaining("model m1").hasMessageContaining("model m2")
                .hasMessageContaining("--fresh");
        try (ResultsFile r = ResultsFile.open(file, "image", Map.of("model", "m2", "mode", "score"), true)) {
            assertThat(r.done()).isEmpty();
        }
        assertThat(Files.size(file)).isZero();
    }
}
