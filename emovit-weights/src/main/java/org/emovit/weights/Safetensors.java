package org.emovit.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of JSON header
 * ({@code {"key": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}}, offsets
 * relative to the byte after the header), then the data. Files are memory-mapped; tensors are slices of the
 * mapping, never copies.
 *
 * <p>This class only picks the right reader or writer: {@link SafetensorsFile} (one file),
 * {@link ShardedSource} (an index and its shards) and {@link SafetensorsWriter}.
 */
public final class Safetensors {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private Safetensors() {
    }

    /** Opens one .safetensors file (memory-mapped). */
    public static TensorSource open(Path file) {
        return SafetensorsFile.open(file);
    }

    /**
     * Opens a sharded checkpoint from its index ({@code model.safetensors.index.json}: {@code "weight_map"}
     * maps each key to a shard file name relative to the index's folder). Each shard is opened once.
     */
    public static TensorSource openIndex(Path indexJson) {
        return ShardedSource.open(indexJson);
    }

    /**
     * Opens {@code dir/model.safetensors}, or else {@code dir/model.safetensors.index.json}.
     *
     * @throws WeightsException if the folder has neither
     */
    public static TensorSource openDir(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new WeightsException(dir + " is not a directory" + (Files.exists(dir) ? "" : " (it does not exist)"));
        }
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return open(single);
        }
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openIndex(index);
        }
        StringBuilder msg = new StringBuilder("no " + SINGLE_FILE + " or " + INDEX_FILE + " in " + dir);
        try (var files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
            List<String> weights = names.stream()
                    .filter(n -> n.endsWith(".safetensors") || n.endsWith(".bin") || n.endsWith(".pth")
                            || n.endsWith(".pt") || n.endsWith(".index.json"))
                    .collect(Collectors.toList());
            if (!weights.isEmpty()) {
                msg.append("; weight-like files there: ").append(weights);
                if (weights.stream().anyMatch(n -> n.endsWith(".bin") || n.endsWith(".pth") || n.endsWith(".pt"))) {
                    msg.append(" (PyTorch checkpoints open with TorchCheckpoint.open)");
                }
            } else {
                msg.append(" (it holds ").append(names.size()).append(" entries, none of them weights)");
            }
        } catch (IOException e) {
            msg.append(" (cannot list it: ").append(e).append(')');
        }
        throw new WeightsException(msg.toString());
    }

    /**
     * Writes {@code tensors} (in map order) and {@code metadata} (may be null or empty) to {@code file}: the
     * data goes to a temporary file in the same folder, which is then renamed over {@code file} (atomically
     * where the file system allows).
     */
    public static void write(Path file, Map<String, RawTensor> tensors, Map<String, String> metadata) {
        SafetensorsWriter.write(file, tensors, metadata);
    }
}
