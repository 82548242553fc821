package org.emovit.train;

import java.io.IOException;
import org.emovit.model.Owned;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.emovit.model.InstructBlip;
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

    /** @param modelKey identifies the vision tower (its contents and dtype) and the transform, e.g. {@link #modelKey(InstructBlip)} */
    public FeatureCache(Path root, String modelKey) {
        this.dir = root.resolve(modelKey);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create feature cache " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The directory name for this model's cached features: "eval", the image size, the dtype and the SHA-256
     * of the ViT blocks' tensors (names, shapes and bytes, in name order). It is the tower's content, not where
     * it was loaded from, so an edited or replaced checkpoint never meets features the old one computed.
     * post_layernorm (ln_vision) is left out: it is tuned, and applied after the cache.
     */
    public static String modelKey(InstructBlip model) {
        MessageDigest digest = sha256();
        Map<String, Tensor> blocks = new TreeMap<>();
        model.namedParameters().forEach((name, t) -> {
            if (name.startsWith("vision_model.") && !name.startsWith("vision_model.post_layernorm.")) {
                blocks.put(name, t);
            }
        });
        Device cpu = new Device("cpu");
        for (Map.Entry<String, Tensor> e : blocks.entrySet()) {
            try (Owned.Scope scope = Owned.scope()) {
                Tensor c = e.getValue().detach().to(cpu, e.getValue().scalar_type()).contiguous();
                digest.update((e.getKey() + Arrays.toString(Tensors.shape(c)) + c.scalar_type().intern() + "\n").getBytes(StandardCharsets.UTF_8));
                long bytes = c.numel() * c.element_size();
                BytePointer data = new BytePointer(c.data_ptr());
                for (long at = 0; at < bytes; at += 1 << 30) {   // a ByteBuffer holds at most 2 GiB
                    digest.update(new BytePointer(data).position(at).capacity(Math.min(bytes, at + (1 << 30))).asBuffer());
                }
            }
        }
        String hash = HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        return "eval" + model.config().vision().imageSize() + "-" + model.dtype().intern().name().toLowerCase(Locale.ROOT) + "-" + hash;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
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
