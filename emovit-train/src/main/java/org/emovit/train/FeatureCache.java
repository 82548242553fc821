package org.emovit.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Tensors;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;

/**
 * The frozen ViT's output for an image, computed once and kept on disk: the ViT never changes during training,
 * so with the deterministic eval transform every epoch would compute the same features again. Entries are
 * safetensors files (read memory-mapped) named by the SHA-256 of the image file's bytes, under a directory
 * named by what else determines them (the transform and the vision tower's identity), so a changed image,
 * transform or model never meets a stale entry. Entries are written to a temporary name and renamed.
 */
public final class FeatureCache {
    private final Path dir;
    private long hits;
    private long misses;

    /** @param modelKey identifies the vision tower (checkpoint and dtype) and the transform, e.g. "eval224-bf16-<path hash>" */
    public FeatureCache(Path root, String modelKey) {
        this.dir = root.resolve(modelKey);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create feature cache " + dir + ": " + e.getMessage(), e);
        }
    }

    public static String imageKey(Path image) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(image)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + image + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Path file(String key) {
        return dir.resolve(key.substring(0, 2)).resolve(key + ".safetensors");
    }

    /** The cached ViT blocks' output [1 + patches, D] for the image, or null. */
    public Tensor get(String key, ScalarType dtype, Device device) {
        Path f = file(key);
        if (!Files.isRegularFile(f)) {
            misses++;
            return null;
        }
        try (TensorSource src = Safetensors.open(f)) {
            hits++;
            return Tensors.viewOf(src.get("features")).to(device, dtype).clone();
        } catch (RuntimeException e) {
            misses++;   // a damaged entry is computed again and replaced
            return null;
        }
    }

    public void put(String key, Tensor features) {
        Path f = file(key);
        try {
            Files.createDirectories(f.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, RawTensor> t = Map.of("features", Tensors.toRawF32(features));
        Safetensors.write(f, t, Map.of("image_sha256", key));
    }

    public long hits() {
        return hits;
    }

    public long misses() {
        return misses;
    }
}
