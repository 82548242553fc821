package org.emovit.devtools.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llama.cpp itself (npm's node-llama-cpp, as tools/llamacpp-side-by-side installs it) loads the tiny random model
 * in every type, tokenizes text with its vocabulary, and computes next-token distributions that agree across the
 * types as closely as each type's rounding allows, and not with another model's: so it reads the weights as the
 * same numbers the F32 file holds. Runs where node and an install are found (EMOVIT_LLAMACPP_DIR, else
 * ${java.io.tmpdir}/emovit-llamacpp, the tool's default work folder); skipped with the reason otherwise, so
 * the build never needs the network.
 */
class GgufLlamaCppTest {
    private Path install;

    @TempDir
    Path dir;

    @BeforeEach
    void findLlamaCpp() {
        String env = System.getenv("EMOVIT_LLAMACPP_DIR");
        Path folder = env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("java.io.tmpdir"), "emovit-llamacpp");
        String reason = null;
        if (!Files.isRegularFile(folder.resolve("node_modules/node-llama-cpp/package.json"))) {
            reason = "no node-llama-cpp install in " + folder + " (set EMOVIT_LLAMACPP_DIR, or run tools/llamacpp-side-by-side once)";
        } else if (!nodeRuns()) {
            reason = "no `node` on the PATH";
        }
        if (reason != null) {
            System.out.println("GgufLlamaCppTest skipped: " + reason);
        }
        Assumptions.assumeTrue(reason == null, reason);
        install = folder;
    }

    @Test
    void llamaCppLoadsEveryTypeAndComputesTheSameModel() throws Exception {
        Path probe = dir.resolve("llamacpp-probe.mjs");
        try (InputStream in = GgufLlamaCppTest.class.getResourceAsStream("llamacpp-probe.mjs")) {
            Files.copy(in, probe);
        }
        JsonNode f32 = probe(probe, GgufRandomLlamaTest.write(dir, GgmlType.F32, 2));
        assertThat(f32.get("trainContextSize").asInt()).isEqualTo(GgufRandomLlamaTest.TINY.context());
        // the synthetic vocabulary: specials 0-2, bytes 3-258, then "▁a" 259, "a" 260, "▁b" 261, ...
        assertThat(f32.get("tokens").toString()).isEqualTo("[273,268,282,282,288,303,288,294,282,266]");   // hello world
        double[] reference = logProbs(f32);
        assertThat(reference).hasSize(GgufRandomLlamaTest.TINY.vocab());

        // another seed: a different model, to show how little two unrelated distributions agree
        Path other = dir.resolve("other-seed.gguf");
        new RandomLlamaGguf(GgufRandomLlamaTest.TINY, GgmlType.F32, 99, 0.02f).write(other, 1, line -> { });
        double unrelated = correlation(reference, logProbs(probe(probe, other)));
        System.out.printf("llama.cpp next-token log-probabilities, another seed against F32: correlation %.6f%n", unrelated);
        assertThat(unrelated).isLessThan(0.5);

        // correlation of the centred log-probabilities with F32's: 1 - r grows with the square of the relative
        // error in the logits; the bounds leave room for llama.cpp's own rounding (it quantises the activations to
        // 8 bits for the Q8_0/Q4_0 products)
        agrees(probe, reference, GgmlType.F16, 0.99999);
        agrees(probe, reference, GgmlType.Q8_0, 0.999);
        agrees(probe, reference, GgmlType.Q4_0, 0.95);
    }

    private void agrees(Path probe, double[] reference, GgmlType type, double least) throws Exception {
        double r = correlation(reference, logProbs(probe(probe, GgufRandomLlamaTest.write(dir, type, 2))));
        System.out.printf("llama.cpp next-token log-probabilities, %s against F32: correlation %.6f%n", type, r);
        assertThat(r).as(type.name()).isGreaterThan(least);
    }

    private JsonNode probe(Path script, Path model) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("node", script.toString(), install.toString(), model.toString(), "hello world")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("node llamacpp-probe.mjs %s:%n%s", model.getFileName(), out).isZero();
        String json = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow();
        return new ObjectMapper().readTree(json);
    }

    private static double[] logProbs(JsonNode probe) {
        JsonNode lp = probe.get("logProbs");
        double[] x = new double[lp.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = lp.get(i).asDouble();
        }
        return x;
    }

    private static double correlation(double[] a, double[] b) {
        double ma = 0, mb = 0;
        for (int i = 0; i < a.length; i++) {
            ma += a[i] / a.length;
            mb += b[i] / b.length;
        }
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (a[i] - ma) * (b[i] - mb);
            aa += (a[i] - ma) * (a[i] - ma);
            bb += (b[i] - mb) * (b[i] - mb);
        }
        return ab / Math.sqrt(aa * bb);
    }

    private static boolean nodeRuns() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
