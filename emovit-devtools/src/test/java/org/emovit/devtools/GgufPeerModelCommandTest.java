package org.emovit.devtools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.emovit.options.ErrorMessages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `emovit peer-model` as the launcher runs it: the file it writes, and one line naming the option when it cannot. */
class GgufPeerModelCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = ErrorMessages.reportingTo(new CommandLine(new PeerModelCommand()), "emovit");
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void writesTheModelItWasAskedFor() throws Exception {
        Path file = dir.resolve("m.gguf");
        assertThat(run("--layers", "1", "--hidden", "64", "--ffn", "96", "--heads", "4", "--vocab", "320",
                "--type", "q4_0", "--threads", "2", "--out", file.toString())).isZero();
        byte[] head = Files.readAllBytes(file);
        assertThat(new String(head, 0, 4, StandardCharsets.US_ASCII)).isEqualTo("GGUF");
        assertThat(out.toString()).contains(file + ": 1 layers, Q4_0, ");
        // 64x320 embeddings and LM head, 4 64x64 and 3 64x96 matrices at 18 bytes per 32 values, 3 F32 norms, the vocabulary
        long matrices = (2L * 64 * 320 + 4 * 64 * 64 + 3 * 64 * 96) / 32 * 18;
        assertThat((long) head.length).isBetween(matrices + 3 * 64 * 4, matrices + 3 * 64 * 4 + 20_000);
    }

    @Test
    void refusalsNameTheOption() {
        assertThat(run("--type", "Q5_K", "--out", dir.resolve("x.gguf").toString())).isEqualTo(1);
        assertThat(err.toString().trim()).isEqualTo("emovit: --type: unknown GGUF tensor type 'Q5_K' (known: F32, F16, Q8_0, Q4_0)");
        err.getBuffer().setLength(0);
        Path missing = dir.resolve("no/such/x.gguf");
        assertThat(run("--layers", "1", "--out", missing.toString())).isEqualTo(1);
        assertThat(err.toString().trim()).isEqualTo("emovit: --out " + missing + ": no such folder " + missing.getParent());
        assertThat(Files.exists(missing)).isFalse();
    }
}
