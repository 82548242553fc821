package org.emovit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.emovit.model.LavisKeys;
import org.emovit.model.Tensors;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.emovit.weights.TorchCheckpointWriter;

/**
 * Training checkpoints: RUN/checkpoints/step-NNNNNNNN/ with the tuned tensors (trainable.safetensors), the
 * optimizer's state (optimizer.pt, libtorch's own archive), and state.json (step, config, and the SHA-256 of
 * both files). A checkpoint is written under a temporary name and renamed into place, so it appears whole or
 * not at all; on resume a checkpoint whose files do not match their hashes (e.g. cut short) is passed over for
 * the one before it. Data order and augmentation derive from (seed, epoch, sample), so the step is all the
 * random state there is.
 */
public final class Checkpoints {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoints() {}

    public record Loaded(Path dir, int step) {}

    static Path dir(Path runDir, int step) {
        return runDir.resolve("checkpoints").resolve(String.format("step-%08d", step));
    }

    public static Path save(Path runDir, int step, TunedState tuned, TrainConfig config) {
        Path target = dir(runDir, step);
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            deleteTree(tmp);
            Files.createDirectories(tmp);
            Map<String, RawTensor> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : tuned.tensors().entrySet()) {
                tensors.put(e.getKey(), Tensors.toRawF32(e.getValue()));
            }
            Safetensors.write(tmp.resolve("trainable.safetensors"), tensors, Map.of("step", Integer.toString(step)));
            OutputArchive archive = new OutputArchive();
            tuned.optimizer().save(archive);
            archive.save_to(tmp.resolve("optimizer.pt").toString());
            ObjectNode state = JSON.createObjectNode();
            state.put("step", step);
            state.put("config", config.toYaml());
            state.put("trainable.safetensors", sha256(tmp.resolve("trainable.safetensors")));
            state.put("optimizer.pt", sha256(tmp.resolve("optimizer.pt")));
            Files.writeString(tmp.resolve("state.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state));
            deleteTree(target);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(), e);
        }
    }

    /** The newest checkpoint whose files are whole; damaged ones are reported through the problems list. */
    public static Optional<Loaded> latestValid(Path runDir, List<String> problems) {
        Path root = runDir.resolve("checkpoints");
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = new ArrayList<>(s.filter(p -> p.getFileName().toString().matches("step-\\d{8}")).sorted().toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (int i = dirs.size() - 1; i >= 0; i--) {
            Path d = dirs.get(i);
            try {
                JsonNode state = JSON.readTree(d.resolve("state.json").toFile());
                for (String f : new String[] {"trainable.safetensors", "optimizer.pt"}) {
                    if (!sha256(d.resolve(f)).equals(state.path(f).asText())) {
                        throw new IOException(f + " does not match its recorded SHA-256 (cut short or changed)");
                    }
                }
                return Optional.of(new Loaded(d, state.get("step").asInt()));
            } catch (IOException | RuntimeException e) {
                problems.add("checkpoint " + d + " is damaged, using an earlier one: " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Puts a checkpoint's tensors into the tuned tensors (the model's own) and its state into the optimizer. */
    public static void restore(Loaded checkpoint, TunedState tuned) {
        try (TensorSource src = Safetensors.open(checkpoint.dir().resolve("trainable.safetensors")); NoGradGuard g = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : tuned.tensors().entrySet()) {
                Tensor saved = Tensors.viewOf(src.get(e.getKey()));
                e.getValue().copy_(saved.to(e.getValue().device(), e.getValue().scalar_type()));
            }
        }
        InputArchive archive = new InputArchive();
        archive.load_from(new org.bytedeco.javacpp.BytePointer(checkpoint.dir().resolve("optimizer.pt").toString()),
                new org.bytedeco.pytorch.DeviceOptional());
        tuned.optimizer().load(archive);
    }

    /**
     * The tuned tensors as EmoVIT distributes them: a PyTorch checkpoint {"model": {LAVIS name: tensor}} (like
     * model_weights1.pth, loadable by LAVIS and by `--overlay`) and the same tensors as safetensors.
     */
    public static void exportOverlay(Map<String, Tensor> trainable, Path pth, Path safetensors) {
        Map<String, RawTensor> lavis = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : trainable.entrySet()) {
            String name = LavisKeys.toLavis(e.getKey());
            lavis.put(name == null ? e.getKey() : name, Tensors.toRawF32(e.getValue()));
        }
        if (pth != null) {
            TorchCheckpointWriter.write(pth, lavis, "model");
        }
        if (safetensors != null) {
            Safetensors.write(safetensors, lavis, Map.of("format", "pt", "producer", "emovit train"));
        }
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            DigestInputStream d = (DigestInputStream) in;
            d.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(d.getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
