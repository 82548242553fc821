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
import org.emovit.model.quant.Quantization;
import org.emovit.model.quant.StoredFormat;

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
            List<StoredFormat.Part> parts = quantization.formatOf(e.getKey()).parts(e.getKey(), e.getValue(), from);
            if (parts.isEmpty()) {
                out.add(SafetensorsDirectoryWriter.Entry.of(e.getKey(), e.getValue()));
            }
            for (StoredFormat.Part p : parts) {
                out.add(new SafetensorsDirectoryWriter.Entry(p.key(), p.shape(), p.type(), p.floating(), p.data()));
            }
        }
        return out;
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
