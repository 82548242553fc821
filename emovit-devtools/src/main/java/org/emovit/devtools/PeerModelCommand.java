package org.emovit.devtools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.emovit.devtools.gguf.GgmlType;
import org.emovit.devtools.gguf.LlamaShape;
import org.emovit.devtools.gguf.RandomLlamaGguf;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Writes the LLM of InstructBLIP-Vicuna-7B with random weights as a GGUF file, so that llama.cpp can be timed at
 * the same widths and layers as `emovit bench` (tools/llamacpp-side-by-side) without Python or a download.
 */
@Command(name = "peer-model", mixinStandardHelpOptions = true,
        description = "Write a LLaMA model of random N(0, std^2) weights as a GGUF file for llama.cpp (Vicuna-7B widths by default), "
                + "to time llama.cpp beside `emovit bench` at the same sizes.")
public final class PeerModelCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "The file to write.")
    Path out;

    @Option(names = "--type", defaultValue = "Q8_0", description = "Type of the matrices: F32, F16, Q8_0 or Q4_0 (default: ${DEFAULT-VALUE}); norms stay F32.")
    String type;

    @Option(names = "--layers", defaultValue = "32", description = "Decoder layers (default: ${DEFAULT-VALUE}, Vicuna-7B's).")
    int layers;

    @Option(names = "--hidden", defaultValue = "4096", description = "Hidden size (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--ffn", defaultValue = "11008", description = "Feed-forward size (default: ${DEFAULT-VALUE}).")
    int ffn;

    @Option(names = "--heads", defaultValue = "32", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--vocab", defaultValue = "32000", description = "Vocabulary size (default: ${DEFAULT-VALUE}; at least 311).")
    int vocab;

    @Option(names = "--context", defaultValue = "2048", description = "Trained context length recorded in the file (default: ${DEFAULT-VALUE}).")
    int context;

    @Option(names = "--seed", defaultValue = "1234", description = "Seed of the weights (default: ${DEFAULT-VALUE}); the same seed gives the same model in every type.")
    long seed;

    @Option(names = "--std", defaultValue = "0.02", description = "Standard deviation of the matrices' values (default: ${DEFAULT-VALUE}).")
    float std;

    @Option(names = "--threads", defaultValue = "0", description = "Threads making the values (default: all cores).")
    int threads;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter log = spec.commandLine().getErr();
        GgmlType t;
        try {
            t = GgmlType.parse(type);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--type: " + e.getMessage(), e);
        }
        LlamaShape shape = new LlamaShape(layers, hidden, ffn, heads, vocab, context);
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new IllegalArgumentException("--out " + out + ": no such folder " + parent);
        }
        int workers = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        long started = System.nanoTime();
        new RandomLlamaGguf(shape, t, seed, std).write(out, workers, line -> {
            log.println(line);
            log.flush();
        });
        double seconds = (System.nanoTime() - started) / 1e9;
        long bytes = Files.size(out);
        spec.commandLine().getOut().printf(Locale.ROOT, "%s: %d layers, %s, %.2f GB in %.1f s (%.0f MB/s)%n",
                out, layers, t, bytes / 1e9, seconds, bytes / 1e6 / seconds);
        return 0;
    }
}
