package org.emovit.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.logging.Logger;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.text.SentencePieceTokenizer;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.emovit.weights.TorchCheckpoint;

/** Reads every checkpoint layout EmoVIT users hold into one {@link InstructBlip}. */
public final class InstructBlipLoader {
    private static final Logger LOG = Logger.getLogger(InstructBlipLoader.class.getName());

    private InstructBlipLoader() {}

    /** The model keys each open file provides, for the load running on this thread. */
    private static final ThreadLocal<java.util.Map<AutoCloseable, Set<String>>> KEYS_BY_SOURCE =
            ThreadLocal.withInitial(java.util.IdentityHashMap::new);

    /**
     * @param dtype the compute dtype, or null for each tensor as stored (no conversion: a model to read tensors
     *              from, as the converter does, not to run)
     */
    public static InstructBlip load(ModelSource source, ScalarType dtype, Device device) {
        // A model to run: its int8 LLM Linears packed for FBGEMM where that is exact (PackedInt8); training and
        // the converter (the overloads below, dtype null) read the values themselves and pack nothing.
        return load(source, dtype, device, key -> false, key -> false, dtype != null);
    }

    /** @param ownCopies tensors that must not alias the checkpoint files (those that training will update) */
    public static InstructBlip load(ModelSource source, ScalarType dtype, Device device, java.util.function.Predicate<String> ownCopies) {
        return load(source, dtype, device, ownCopies, key -> false);
    }

    /** @param float32 tensors kept in float32 whatever {@code dtype} is (training's master weights) */
    public static InstructBlip load(ModelSource source, ScalarType dtype, Device device, java.util.function.Predicate<String> ownCopies,
                                    java.util.function.Predicate<String> float32) {
        return load(source, dtype, device, ownCopies, float32, false);
    }

    private static InstructBlip load(ModelSource source, ScalarType dtype, Device device, java.util.function.Predicate<String> ownCopies,
                                     java.util.function.Predicate<String> float32, boolean packInt8) {
        List<AutoCloseable> open = new ArrayList<>();
        KEYS_BY_SOURCE.get().clear();
        try {
            StateDict weights = new StateDict(dtype, device);
            if (packInt8) {
                weights.linears().pack(true);   // a checkpoint's values stay mapped for gradients, untouched otherwise
            }
            weights.ownCopies(ownCopies);
            weights.keepFloat32(float32);
            InstructBlipConfig config = source.isHuggingFace()
                    ? readHuggingFace(source.hfDirectory(), weights, open)
                    : readLavis(source, weights, open);
            if (source.overlay() != null) {
                StateDict overlay = new StateDict(dtype, device);
                readOverlay(source.overlay(), overlay, open);
                weights.overlay(overlay);
                // Overlay tensors are small: give them memory of their own, so results do not depend on where the
                // tensors sit in the file (unaligned data can take other kernels and round differently).
                java.util.Set<String> tuned = new java.util.HashSet<>(overlay.keys());
                weights.ownCopies(key -> ownCopies.test(key) || tuned.contains(key));
            }
            InstructBlip model = new InstructBlip(config, weights, open);
            releaseUnreferenced(model, weights, open);
            return model;
        } catch (RuntimeException e) {
            closeAll(open);
            throw e;
        } finally {
            KEYS_BY_SOURCE.remove();
        }
    }

    /** Opens a tensor file by its format: safetensors, or a PyTorch zip checkpoint. */
    public static TensorSource openTensorFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("checkpoint file not found: " + file);
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".safetensors") ? Safetensors.open(file) : TorchCheckpoint.open(file);
    }

    private static InstructBlipConfig readHuggingFace(Path dir, StateDict weights, List<AutoCloseable> open) {
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("model directory not found: " + dir + (Files.exists(dir) ? " is a file" : " does not exist")
                    + " (a Hugging Face InstructBLIP directory holds config.json and model*.safetensors)");
        }
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new ModelLoadException("not a Hugging Face model directory (no config.json): " + dir);
        }
        InstructBlipConfig config = InstructBlipConfig.read(configFile);
        TensorSource src = Safetensors.openDir(dir);
        open.add(src);
        for (String key : src.keys()) {
            weights.put(key, entry(src, key, key));
        }
        return config;
    }

    private static InstructBlipConfig readLavis(ModelSource s, StateDict weights, List<AutoCloseable> open) {
        require(s.lavisVit(), "--vit (EVA ViT state dict)");
        require(s.lavisInstructBlip(), "--qformer (LAVIS InstructBLIP checkpoint)");
        require(s.vicunaDirectory(), "--llm (Vicuna directory)");
        InstructBlipConfig config = s.config() != null ? InstructBlipConfig.read(s.config())
                : InstructBlipConfig.preset(s.preset() == null ? "vicuna7b" : s.preset());
        Path llmConfig = s.vicunaDirectory().resolve("config.json");
        LlamaConfig text;
        try {
            text = LlamaConfig.fromJson(new ObjectMapper().readTree(llmConfig.toFile()));
        } catch (IOException e) {
            throw new ModelLoadException("cannot read the LLM config " + llmConfig + ": " + e.getMessage(), e);
        }

        TensorSource vit = openTensorFile(s.lavisVit());
        open.add(vit);
        readLavisVision(vit, config.vision(), weights);

        TensorSource blip = openTensorFile(s.lavisInstructBlip());
        open.add(blip);
        for (String key : blip.keys()) {
            String hf = LavisKeys.instructBlip(key);
            if (hf != null) {
                weights.put(hf, entry(blip, key, hf));
            } else if (!LavisKeys.ignoredInstructBlip(key)) {
                weights.put("(LAVIS) " + key, entry(blip, key, key));
            }
        }

        TensorSource llm = Safetensors.openDir(s.vicunaDirectory());
        open.add(llm);
        for (String key : llm.keys()) {
            if (!key.endsWith("rotary_emb.inv_freq")) {
                weights.put("language_model." + key, entry(llm, key, "language_model." + key));
            }
        }
        text = addPadRowIfMissing(text, s.vicunaDirectory(), weights);
        return config.withText(text).withImageTokenIndex(-1);
    }

    /**
     * LAVIS adds a `[PAD]` token after the SentencePiece vocabulary and resizes Vicuna's embeddings and LM head
     * by one row. A plain Vicuna directory lacks that row; like HF's resize_token_embeddings, the new row is the
     * mean of the others (it is only ever used for padding, which attention masks out).
     */
    private static LlamaConfig addPadRowIfMissing(LlamaConfig text, Path vicunaDir, StateDict weights) {
        Path spm = vicunaDir.resolve("tokenizer.model");
        if (!Files.isRegularFile(spm)) {
            return text;
        }
        int pieces = SentencePieceTokenizer.load(spm).vocabSize();
        if (text.vocabSize() != pieces) {
            return text;
        }
        for (String key : List.of("language_model.model.embed_tokens.weight", "language_model.lm_head.weight")) {
            StateDict.Entry e = weights.entry(key);
            if (e == null) {
                continue;
            }
            long[] shape = e.shape().clone();
            shape[0] += 1;
            weights.put(key, new StateDict.Entry(shape, e.origin() + " (+ [PAD] row)", () -> {
                Tensor base = e.reader().get();
                Tensor mean = base.to(ScalarType.Float).mean(new long[] {0}, true, new org.bytedeco.pytorch.ScalarTypeOptional())
                        .to(base.scalar_type());
                return Ops.cat(0, base, mean);
            }));
        }
        return text.withVocabSize(pieces + 1);
    }

    private static void readLavisVision(TensorSource vit, VisionConfig vc, StateDict weights) {
        int dropped = 0;
        for (String key : vit.keys()) {
            int block = LavisKeys.visionBlock(key);
            if (block >= vc.numLayers()) {
                dropped++;   // LAVIS builds 39 of EVA ViT-g's 40 blocks and loads non-strictly
                continue;
            }
            String hf = LavisKeys.vision(key);
            if (hf != null) {
                weights.put(hf, entry(vit, key, hf));
            } else if (key.endsWith("attn.q_bias")) {
                String prefix = key.substring(0, key.length() - "q_bias".length());
                String vKey = prefix + "v_bias";
                if (!vit.contains(vKey)) {
                    throw new ModelLoadException("missing tensor '" + vKey + "' in " + vit.describe());
                }
                long d = vit.get(key).shape()[0];
                weights.put("vision_model.encoder.layers." + block + ".self_attn.qkv.bias",
                        new StateDict.Entry(new long[] {3 * d}, vit.describe() + " [" + key + " + " + vKey + "]", () -> {
                            Tensor q = Tensors.viewOf(vit.get(key));
                            Tensor v = Tensors.viewOf(vit.get(vKey));
                            return Ops.cat(0, q, torch.zeros_like(q), v);
                        }));
            } else if (!key.endsWith("attn.v_bias")) {
                weights.put("(LAVIS ViT) " + key, entry(vit, key, key));
            }
        }
        if (dropped > 0) {
            LOG.fine(() -> "ignored the ViT blocks past the configured depth " + vc.numLayers() + " in " + vit.describe());
        }
    }

    private static void readOverlay(Path file, StateDict overlay, List<AutoCloseable> open) {
        TensorSource src = openTensorFile(file);
        open.add(src);
        for (String key : src.keys()) {
            String hf = LavisKeys.instructBlip(key);
            if (hf == null && LavisKeys.ignoredInstructBlip(key)) {
                continue;
            }
            overlay.put(hf != null ? hf : key, entry(src, key, hf != null ? hf : key));
        }
    }

    /**
     * After a converting load (another dtype or device than the file's), no parameter points into the files, yet
     * their mappings would stay until the model is closed and show in RSS as gigabytes the model does not hold.
     * Files none of whose tensors were taken in place are closed now; the garbage collector, asked once, then
     * drops their mappings (a mapping is only released when its buffers are collected).
     */
    private static void releaseUnreferenced(InstructBlip model, StateDict weights, List<AutoCloseable> open) {
        Set<String> inPlace = weights.aliased();
        boolean released = false;
        for (AutoCloseable resource : open) {
            Set<String> keys = KEYS_BY_SOURCE.get().get(resource);
            if (keys != null && keys.stream().noneMatch(inPlace::contains)) {
                try {
                    model.release(resource);
                    released = true;
                } catch (Exception e) {
                    LOG.fine(() -> "could not close " + resource + " early: " + e);
                }
            }
        }
        if (released) {
            System.gc();
        }
    }

    private static StateDict.Entry entry(TensorSource src, String key, String asKey) {
        KEYS_BY_SOURCE.get().computeIfAbsent(src, s -> new java.util.HashSet<>()).add(asKey);
        RawTensor raw = src.get(key);
        String origin = key.equals(asKey) ? src.describe() : src.describe() + " [" + key + "]";
        return new StateDict.Entry(raw.shape(), origin, () -> Tensors.viewOf(src.get(key)), target -> src.readInto(key, target));
    }

    private static void require(Path p, String what) {
        if (p == null) {
            throw new ModelLoadException("the LAVIS layout needs " + what);
        }
    }

    private static void closeAll(List<AutoCloseable> open) {
        for (AutoCloseable c : open) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort on the error path
            }
        }
    }
}
