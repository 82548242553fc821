package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 26, case 3: an option that cannot change the result was accepted and ignored. Each is now refused with one
 * line naming it, before the model loads (no model note on stderr) — and the same options where they do apply run.
 */
class OptionsUsedTest {

    static void refused(String line, String... args) {
        CommandsTest.Result r = CommandsTest.run(args);
        assertThat(r.code()).as(String.join(" ", args)).isEqualTo(1);
        assertThat(r.err().strip()).as(String.join(" ", args)).isEqualTo("emovit: " + line);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void classifyAndEvalRefuseOptionsTheirModeOrOtherOptionsLeaveUnused(@TempDir Path dir) throws Exception {
        String img = ClassifyEvalTest.png(dir.resolve("a.png"), 1).toString();
        refused("--explain-tokens only applies with --explain", "classify", "--explain-tokens", "5", img);
        for (String option : List.of("--beams", "--max-new-tokens")) {
            refused(option + " only applies with --mode generate (explanations are greedy, --explain-tokens long)", "classify", option, "3", img);
        }
        refused("--repetition-penalty only applies with --mode generate or --explain", "classify", "--repetition-penalty", "1.5", img);
        refused("--fresh only applies with --output FILE", "classify", "--fresh", img);
        refused("--beams only applies with --mode generate (explanations are greedy, --explain-tokens long)", "eval", "--beams", "2",
                "--dataset", dir.toString());

        CommandsTest.Result used = CommandsTest.run("classify", "--mode", "generate", "--beams", "2", "--max-new-tokens", "4",
                "--explain", "--explain-tokens", "3", "--repetition-penalty", "1.5", img);
        assertThat(used.code()).as(used.err()).isZero();
    }

    @Test
    void serveBenchRefusesInProcessOptionsWithAUrlAndChatOptionsForEmotions() {
        refused("--baseline only applies to the in-process server (without --url)", "serve-bench", "--url", "http://127.0.0.1:9", "--baseline");
        refused("--max-wait-ms only applies to the in-process server (without --url)", "serve-bench", "--url", "http://127.0.0.1:9", "--max-wait-ms", "9");
        refused("--max-tokens only applies with --endpoint chat", "serve-bench", "--url", "http://127.0.0.1:9", "--max-tokens", "9");
        refused("--heatmap only applies with --endpoint emotions", "serve-bench", "--url", "http://127.0.0.1:9", "--endpoint", "chat", "--heatmap");
    }
}
