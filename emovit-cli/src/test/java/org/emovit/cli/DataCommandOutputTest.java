package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.emovit.core.Emotion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** What `emovit data ...` prints: one short line per stage, its help, and one line for a run-stopping failure. */
class DataCommandOutputTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyOptionOfEveryDataSubcommandHasHelp() {
        CommandLine data = new CommandLine(new Main()).getSubcommands().get("data");
        List<String> missing = new ArrayList<>();
        data.getSubcommands().forEach((name, sub) -> {
            for (OptionSpec o : sub.getCommandSpec().options()) {
                if (o.description().length == 0 || String.join("", o.description()).isBlank()) {
                    missing.add(name + " " + o.longestName());
                }
            }
        });
        assertThat(missing).as("options without a description").isEmpty();
    }

    /** An EmoSet of 2 images per class, with cap-anno texts already in the work folder. */
    static Path emoSetWithCapAnno(Path dir) throws Exception {
        Path emoset = dir.resolve("EmoSet");
        List<List<String>> train = new ArrayList<>();
        for (Emotion e : Emotion.values()) {
            for (int i = 0; i < 2; i++) {
                String name = e.label() + "_" + String.format("%05d", e.ordinal() * 10 + i);
                Files.createDirectories(emoset.resolve("annotation/" + e.label()));
                Files.writeString(emoset.resolve("annotation/" + e.label() + "/" + name + ".json"),
                        "{\"emotion\": \"" + e.label() + "\", \"brightness\": 0.4}");
                train.add(List.of(e.label(), "image/" + e.label() + "/" + name + ".jpg", "annotation/" + e.label() + "/" + name + ".json"));
                Path capAno = dir.resolve("work/cap-ano/" + e.label() + "/" + name + ".txt");
                Files.createDirectories(capAno.getParent());
                Files.writeString(capAno, "Caption: a toy\nBrightness: 0.4\n");
            }
        }
        Files.writeString(emoset.resolve("train.json"), JSON.writeValueAsString(train));
        return emoset;
    }

    @Test
    void aStagePrintsOneShortLineAndItsJsonReportOnlyWhenAFileIsAsked(@TempDir Path dir) throws Exception {
        Path emoset = emoSetWithCapAnno(dir);
        Path report = dir.resolve("cap-anno-report.json");
        CommandsTest.Result r = CommandsTest.run("data", "cap-anno", "--emoset", emoset.toString(),
                "--work", dir.resolve("work").toString(), "--range", "0..1", "--report-json", report.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith("cap-anno: 16 selected, 0 written, 0 unchanged, 16 skipped")
                .doesNotContain("Report[").doesNotContain("\n");
        assertThat(r.out().length()).isLessThan(200);
        // the skipped images: a few on stderr, all of them in the report file
        assertThat(r.err()).contains("no caption file").contains("and 11 more");
        JsonNode json = JSON.readTree(report.toFile());
        assertThat(json.get("selected").asInt()).isEqualTo(16);
        assertThat(json.get("skipped")).hasSize(16);

        CommandsTest.Result plain = CommandsTest.run("data", "cap-anno", "--emoset", emoset.toString(),
                "--work", dir.resolve("work").toString(), "--range", "0..1");
        assertThat(plain.out()).doesNotContain("{");
    }

    @Test
    void generateAgainstADeadEndpointFailsFastWithOneLineNamingTheUrl(@TempDir Path dir) throws Exception {
        Path emoset = emoSetWithCapAnno(dir);
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port + "/v1";
        long t0 = System.nanoTime();
        CommandsTest.Result r = CommandsTest.run("data", "generate", "--kind", "conversation", "--emoset", emoset.toString(),
                "--work", dir.resolve("work").toString(), "--range", "0..1", "--base-url", url);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("emovit: cannot reach " + url + "/chat/completions: connection refused");
        assertThat(r.out()).contains("16 selected").contains("stopped (unreachable)").doesNotContain("Report[");
        assertThat(ms).isLessThan(15_000);
    }

    @Test
    void generateWithoutAKeyForARemoteEndpointSaysWhichVariableToSet(@TempDir Path dir) throws Exception {
        assumeThat(System.getenv("OPENAI_API_KEY")).as("the test needs OPENAI_API_KEY unset").isNull();
        Path emoset = emoSetWithCapAnno(dir);
        CommandsTest.Result r = CommandsTest.run("data", "generate", "--kind", "reasoning", "--emoset", emoset.toString(),
                "--work", dir.resolve("work").toString(), "--range", "0..1", "--base-url", "https://llm.example.com/v1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("emovit: no API key for https://llm.example.com/v1: set OPENAI_API_KEY "
                + "(only a server on this machine may go without one)");
        assertThat(Files.exists(dir.resolve("work/reasoning-cost.jsonl"))).isFalse();
    }
}
