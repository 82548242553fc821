package org.emovit.convert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Device;
import org.emovit.api.ModelSpec;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.ModelLoadException;
import org.emovit.model.ModelSource;
import org.emovit.model.Precision;
import org.emovit.model.quant.Int4Format;
import org.emovit.model.quant.Int4Weight;
import org.emovit.model.quant.Int8Validation;

/**
 * Turns any model a {@link ModelSpec} names (Hugging Face directory or LAVIS parts, with the overlay merged) into
 * a Hugging Face directory that loads by mapping its tensors in place: every tensor under its HF name in the
 * target dtype, {@code config.json}, {@code tokenizer.model} and {@code qformer_tokenizer/vocab.txt}.
 *
 * <p>{@link Quantization#INT8} ({@code emovit convert --quantize int8}) stores every Linear of the LLM (the q, k, v, o,
 * gate, up and down projections of each layer and the LM head; the embeddings, norms, vision encoder and Q-Former
 * stay in the target dtype) as symmetric int8 per output channel under this key scheme:
 * <ul>
 *   <li>{@code <name>.weight}: I8 [out, in], values in [-127, 127];</li>
 *   <li>{@code <name>.weight_scale}: F32 [out], {@code max|w_row| / 127} (1 for an all-zero row),</li>
 * </ul>
 * so that {@code weight ≈ weight.float() * weight_scale[:, None]}. The loader recognises a weight by its
 * {@code _scale} sibling and maps both in place ({@link org.emovit.model.StateDict#takeLinear}); the matrix products
 * run through libtorch's {@code aten::_weight_int8pack_mm} ({@link org.emovit.model.quant.Int8Weight}).
 *
 * <p>The model is loaded as the commands load it (so the checks on names and shapes are the same), but with each
 * tensor as stored, and its parameters are written converted to the target dtype; the result appears under its
 * final name only once complete.
 */
public final class ModelConverter {
    /** Shards as Hugging Face's default {@code max_shard_size} ("5GB"). */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    private ModelConverter() {}

    /** What was written. */
    public record Result(List<Path> files, int tensors, long tensorBytes) {}

    /** How the LLM's Linear weights are stored. */
    public enum Quantization {
        /** In the target dtype, as every other tensor. */
        NONE,
        /** Symmetric int8 per output channel with F32 scales (see the class comment). */
        INT8,
        /** The LLM's Linears in 4 bits ({@link Int4Format}), the ViT's in int8 as with INT8. */
        INT4;

        public static Quantization parse(String name) {
            return switch (name.toLowerCase(java.util.Locale.ROOT)) {
                case "none" -> NONE;
                case "int8" -> INT8;
                case "int4" -> INT4;
                default -> throw new IllegalArgumentException("--quantize: int4, int8 or none, not '" + name + "'");
            };
        }

        /** What it stores quantised, as a parenthesis after a model's dtype ("" for NONE). */
        public String note() {
            return switch (this) {
                case NONE -> "";
                case INT8 -> " (the LLM's and the ViT's Linears int8)";
                case INT4 -> " (the LLM's Linears int4, the ViT's int8)";
            };
        }

        /**
         * Whether this parameter is stored int8: with INT8, the LLM's and the ViT's Linear weights; with INT4, the
         * ViT's (its 257-row products are compute-bound, where int8's dense GEMM path is the faster).
         */
        public boolean quantizes(String key) {
            return switch (this) {
                case NONE -> false;
                case INT8 -> QUANTIZED_LINEAR.matcher(key).matches();
                case INT4 -> QUANTIZED_LINEAR.matcher(key).matches() && !quantizesInt4(key);
            };
        }

        /** Whether this parameter is stored in 4 bits where its widths allow ({@link Int4Format#accepts}): INT4's LLM Linears. */
        public boolean quantizesInt4(String key) {
            return this == INT4 && key.startsWith("language_model.") && QUANTIZED_LINEAR.matcher(key).matches();
        }

        /** Whether any Linear is stored quantised. */
        public boolean any() {
            return this != NONE;
        }
    }

    /**
     * The Linear weights that {@link Quantization#INT8} stores as int8: the LLM's (its LM head too) and the ViT's
     * blocks'. The ViT's halve its 2 GB at 7B sizes, which takes the int8 model's peak RSS under 10 GB; they cost the
     * vision stage a conversion per Linear (its 257 rows always take the GEMM path), measured in the README. The
     * Q-Former (0.2 GB, and tuned by training) stays as it is.
     */
    static final java.util.regex.Pattern QUANTIZED_LINEAR = java.util.regex.Pattern.compile(
            "language_model\\.(model\\.layers\\.\\d+\\.(self_attn\\.[qkvo]_proj|mlp\\.(gate|up|down)_proj)|lm_head)\\.weight"
            + "|vision_model\\.encoder\\.layers\\.\\d+\\.(self_attn\\.(qkv|projection)|mlp\\.fc[12])\\.weight");

    public static Result convert(ModelSpec spec, Path out, long maxShardBytes) {
        return convert(spec, out, maxShardBytes, Quantization.NONE);
    }

    public static Result convert(ModelSpec spec, Path out, long maxShardBytes, Quantization quantization) {
        try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {   // weights are data here, not parameters
            return convertWithoutGrad(spec, out, maxShardBytes, quantization);
        }
    }

    /**
     * The parameters to write: as they are, or with the LLM's Linear weights replaced by int8 values and scales, each
     * quantised when the writer reaches it (quantising them all first held the whole int8 LLM, 6.5 GB at 7B, on top
     * of the mapped source).
     */
    private static List<SafetensorsDirectoryWriter.Entry> tensorsToWrite(InstructBlip model, Quantization quantization, String from) {
        List<SafetensorsDirectoryWriter.Entry> out = new ArrayList<>();
        for (java.util.Map.Entry<String, org.bytedeco.pytorch.Tensor> e : model.namedParameters().entrySet()) {
            org.bytedeco.pytorch.Tensor t = e.getValue();
            if (quantization.quantizesInt4(e.getKey()) && t.is_floating_point() && t.dim() == 2 && Int4Format.accepts(t.size(0), t.size(1))) {
                out.addAll(int4Entries(e.getKey(), t));
            } else if (quantization.quantizes(e.getKey()) && t.scalar_type().intern() != org.bytedeco.pytorch.global.torch.ScalarType.Char) {
                long[] shape = org.emovit.model.Tensors.shape(t);
                out.add(new SafetensorsDirectoryWriter.Entry(e.getKey(), shape, org.bytedeco.pytorch.global.torch.ScalarType.Char, false,
                        () -> org.emovit.model.quant.Int8Weight.quantize(t).values()));
                String scaleKey = Int8Validation.scaleKeyOf(e.getKey());
                out.add(new SafetensorsDirectoryWriter.Entry(scaleKey, new long[] {shape[0]},
                        org.bytedeco.pytorch.global.torch.ScalarType.Float, true, () -> validScales(scaleKey, t, from)));
            } else {
                out.add(SafetensorsDirectoryWriter.Entry.of(e.getKey(), t));
            }
        }
        return out;
    }

    /**
     * A float weight's two 4-bit entries ({@link Int4Format}), each quantising the weight when the writer reaches it:
     * the writer frees what an entry makes once it is written and orders entries by alignment and name, not pairs, so
     * neither can hand the other its half.
     */
    private static List<SafetensorsDirectoryWriter.Entry> int4Entries(String key, org.bytedeco.pytorch.Tensor weight) {
        long out = weight.size(0), in = weight.size(1);
        return List.of(
                new SafetensorsDirectoryWriter.Entry(key, Int4Format.valuesShape(out, in), org.bytedeco.pytorch.global.torch.ScalarType.Byte,
                        false, () -> Int4Weight.quantize(weight).values()),
                new SafetensorsDirectoryWriter.Entry(Int4Format.PARAMS.of(key), Int4Format.paramsShape(out, in),
                        Int4Format.PARAMS_TYPE, true, () -> Int4Weight.quantize(weight).params()));
    }

    /** The scales the int8 values of {@code weight} are written with, refused if the weight has NaN or infinite values. */
    private static org.bytedeco.pytorch.Tensor validScales(String scaleKey, org.bytedeco.pytorch.Tensor weight, String from) {
        org.bytedeco.pytorch.Tensor scales = org.emovit.model.quant.Int8Weight.scalesOf(weight);
        Int8Validation.requireValidScales(scales, scaleKey, Int8Validation.quantisedFrom(from));
        return scales;
    }

    private static Result convertWithoutGrad(ModelSpec spec, Path out, long maxShardBytes, Quantization quantization) {
        Path target = out.toAbsolutePath().normalize();
        requireEmptyOrAbsent(target);
        ModelSource source = spec.source();
        Path tokenizer = source.llmTokenizerDirectory().resolve("tokenizer.model");
        Path vocab = spec.qformerVocabPath();
        requireFile(tokenizer, "the LLM tokenizer");
        requireFile(vocab, "the Q-Former vocabulary (--qformer-vocab)");
        Precision precision = spec.precision();
        Path staging = target.resolveSibling("." + target.getFileName() + ".converting");
        try {
            deleteTree(staging);
            Files.createDirectories(staging.resolve("qformer_tokenizer"));
            Result result;
            // Loaded as stored (mapped in place where the files allow) and converted by the writer a piece at a time:
            // converting at load time held the whole converted model in memory (16 GB for 7B f32 -> bf16).
            // A random model (--config without a checkpoint) is made at its sizes, its Linears quantised as they are made.
            try (InstructBlip model = spec.isRandom() ? spec.random(quantization::quantizes, quantization::quantizesInt4)
                    : InstructBlipLoader.load(source, null, new Device("cpu"))) {
                String from = spec.isRandom() ? "the random model" : source.isHuggingFace() ? source.hfDirectory().toString() : "the LAVIS checkpoints";
                List<SafetensorsDirectoryWriter.Entry> tensors = tensorsToWrite(model, quantization, from);
                SafetensorsDirectoryWriter.Written written = SafetensorsDirectoryWriter.write(staging, tensors, precision.scalarType(), maxShardBytes);
                List<Path> files = new ArrayList<>(written.files());
                Path sourceConfig = source.isHuggingFace() ? source.hfDirectory().resolve("config.json") : source.config();
                Path config = staging.resolve("config.json");
                Files.write(config, ModelConfigJson.of(model.config(), sourceConfig, precision.torchName()));
                files.add(config);
                result = new Result(files, tensors.size(), written.tensorBytes());
            }
            Files.copy(tokenizer, staging.resolve("tokenizer.model"));
            Files.copy(vocab, staging.resolve("qformer_tokenizer").resolve("vocab.txt"));
            if (source.isHuggingFace() && Files.isRegularFile(source.hfDirectory().resolve("generation_config.json"))) {
                Files.copy(source.hfDirectory().resolve("generation_config.json"), staging.resolve("generation_config.json"));
            }
            Files.deleteIfExists(target);   // an empty folder given as --out
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            List<Path> moved = new ArrayList<>();
            for (Path p : result.files()) {
                moved.add(target.resolve(staging.relativize(p)));
            }
            return new Result(moved, result.tensors(), result.tensorBytes());
        } catch (IOException e) {
            throw new ModelLoadException("cannot write the converted model to " + target + ": " + e, e);
        } finally {
            try {
                deleteTree(staging);
            } catch (IOException ignored) {
                // best effort: only our own staging folder
            }
        }
    }

    private static void requireEmptyOrAbsent(Path dir) {
        if (!Files.exists(dir)) {
            if (dir.getParent() == null || !Files.isDirectory(dir.getParent())) {
                throw new ModelLoadException("--out " + dir + ": the folder " + dir.getParent() + " does not exist");
            }
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("--out " + dir + " is a file, not a folder");
        }
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isPresent()) {
                throw new ModelLoadException("--out " + dir + " is not empty (a conversion writes a fresh folder)");
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot read --out " + dir + ": " + e, e);
        }
    }

    private static void requireFile(Path p, String what) {
        if (!Files.isRegularFile(p)) {
            throw new ModelLoadException(what + " not found: " + p);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
