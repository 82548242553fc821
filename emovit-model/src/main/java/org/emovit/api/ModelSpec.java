package org.emovit.api;


import java.io.Serializable;
import java.nio.file.Path;
import java.util.Locale;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import java.util.List;
import org.emovit.model.ThreadChoice;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipConfig;
import org.emovit.model.StateDict;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.ModelSource;
import org.emovit.model.Precision;
import org.emovit.model.PrecisionChoice;

/**
 * Which model to run and how, as plain strings: what the command-line options, the server and a Spark job (which
 * ships it to its executors, hence {@link Serializable}) all say to get an {@link EmoVit}. All paths null means
 * the tiny random-weight model embedded in emovit.
 *
 * @param model        Hugging Face InstructBLIP directory
 * @param vit          LAVIS layout: EVA ViT-g state dict
 * @param qformer      LAVIS layout: InstructBLIP checkpoint
 * @param llm          LAVIS layout: Vicuna directory
 * @param preset       LAVIS layout: sizes preset (vicuna7b) unless {@code config} is given
 * @param config       LAVIS layout: an HF config.json giving the sizes
 * @param qformerVocab the Q-Former's BERT vocab.txt (default: beside the checkpoint)
 * @param overlay      EmoVIT's tuned tensors over the base model
 * @param dtype        f32, bf16 (the names {@link Precision#parse} accepts) or auto ({@link PrecisionChoice})
 * @param device       cpu, cuda or cuda:N
 */
public record ModelSpec(String model, String vit, String qformer, String llm, String preset, String config,
                        String qformerVocab, String overlay, String dtype, String device) implements Serializable {

    static {
        org.emovit.model.NativeMemory.configure();   // before libtorch is touched (a server or Spark executor may start here)
    }

    /** The embedded tiny model in float32 on the CPU. */
    public static ModelSpec embedded() {
        return new ModelSpec(null, null, null, null, "vicuna7b", null, null, null, "f32", "cpu");
    }

    public boolean isEmbedded() {
        return model == null && vit == null && qformer == null && llm == null;
    }

    /**
     * No checkpoint but a config: random weights at the config's sizes with the embedded model's tokenizers, so a
     * server or benchmark runs at real widths (a soak at 7B widths with few layers) without a checkpoint. The config's
     * vocabularies must be the embedded tokenizers' (its image token and pad ids too).
     */
    public boolean isRandom() {
        return isEmbedded() && config != null;
    }

    public ModelSource source() {
        ModelSource s;
        if (isEmbedded()) {
            s = ModelSource.huggingFace(EmbeddedModel.directory());
        } else if (model != null) {
            if (vit != null || qformer != null || llm != null) {
                throw new IllegalArgumentException("give either --model or --vit/--qformer/--llm, not both");
            }
            s = ModelSource.huggingFace(Path.of(model));
        } else {
            s = ModelSource.lavis(path(vit), path(qformer), path(llm), preset == null ? "vicuna7b" : preset, path(config));
        }
        return overlay == null ? s : s.withOverlay(Path.of(overlay));
    }

    /** {@code --dtype}: f32, bf16, or auto (also when null): what {@link PrecisionChoice} picks for this model here. */
    public Precision precision() {
        return precisionChoice().precision();
    }

    /** Each spec's choice, made once per process: the memory rule must not flip between loading and reporting. */
    private static final java.util.Map<ModelSpec, PrecisionChoice> CHOICES = new java.util.concurrent.ConcurrentHashMap<>();

    /** The precision and why ({@code emovit bench} and the server's start line print it). */
    public PrecisionChoice precisionChoice() {
        if (!PrecisionChoice.isAuto(dtype)) {
            return PrecisionChoice.of(dtype, null, false, false);
        }
        return CHOICES.computeIfAbsent(this, s -> PrecisionChoice.of(dtype, s.sizes(),
                device != null && device.toLowerCase(Locale.ROOT).startsWith("cuda"), s.storedQuantization().any()));
    }

    /** The model's sizes, read from its config (or preset) without loading a weight. */
    public InstructBlipConfig sizes() {
        if (isEmbedded()) {
            return InstructBlipConfig.read(config != null ? Path.of(config) : EmbeddedModel.directory().resolve("config.json"));
        }
        if (model != null) {
            return InstructBlipConfig.read(Path.of(model).resolve("config.json"));
        }
        return config != null ? InstructBlipConfig.read(Path.of(config)) : InstructBlipConfig.preset(preset == null ? "vicuna7b" : preset);
    }

    /** The quantisation a Hugging Face folder stores its Linears in ({@code emovit convert --quantize}), NONE where unreadable. */
    private org.emovit.model.quant.Quantization storedQuantization() {
        if (model == null) {
            return org.emovit.model.quant.Quantization.NONE;
        }
        try {
            return org.emovit.model.quant.Quantization.storedIn(Path.of(model));
        } catch (RuntimeException e) {
            return org.emovit.model.quant.Quantization.NONE;   // not safetensors, or unreadable: loading reports that properly
        }
    }

    public ScalarType scalarType() {
        return precision().scalarType();
    }

    /** The precision's one name, whatever spelling --dtype used: f32 or bf16 (results files and Spark rows carry it). */
    public String dtypeName() {
        return precision().toString();
    }

    public Device torchDevice() {
        return torchDevice(device);
    }

    /** {@code --device}: cpu (also when null), cuda or cuda:N, refused when CUDA is not there. */
    public static Device torchDevice(String device) {
        String d = (device == null ? "cpu" : device).toLowerCase(Locale.ROOT);
        if (!d.equals("cpu") && !d.startsWith("cuda")) {
            throw new IllegalArgumentException("--device must be cpu or cuda[:N], not '" + device + "'");
        }
        if (d.startsWith("cuda") && !torch.cuda_is_available()) {
            throw new IllegalArgumentException("--device " + device + ": CUDA is not available in this libtorch/machine");
        }
        return new Device(d);
    }

    /** The model alone (weights memory-mapped where the format allows), with the thread count measured for it first. */
    public InstructBlip load() {
        org.emovit.model.NativeSettings.require(System::getenv);   // a server or Spark executor may load libtorch here first
        try {
            threadChoice();
        } catch (RuntimeException e) {
            // an unreadable config: the loader below says what is wrong with the model
        }
        if (isRandom()) {
            return random(key -> false);
        }
        return InstructBlipLoader.load(source(), scalarType(), torchDevice());
    }

    /**
     * Random weights at the config's sizes ({@link #isRandom()}), the Linears whose keys match quantised to int8 as they
     * are made (`convert --quantize int8` of a random model never holds it dense).
     */
    public InstructBlip random(java.util.function.Predicate<String> quantizeLinears) {
        return random(quantizeLinears, key -> false);
    }

    /** As {@link #random(java.util.function.Predicate)}, the Linears {@code quantizeInt4} matches made 4-bit. */
    public InstructBlip random(java.util.function.Predicate<String> quantizeLinears, java.util.function.Predicate<String> quantizeInt4) {
        if (!isRandom()) {
            throw new IllegalStateException("not a random model: " + displayName());
        }
        InstructBlipConfig sizes = sizes();
        InstructBlipConfig tokenizers = InstructBlipConfig.read(EmbeddedModel.directory().resolve("config.json"));
        if (sizes.text().vocabSize() != tokenizers.text().vocabSize() || sizes.imageTokenIndex() != tokenizers.imageTokenIndex()
                || sizes.qformer().vocabSize() != tokenizers.qformer().vocabSize()) {
            throw new IllegalArgumentException("--config " + config + ": random weights use the embedded tokenizers, so text_config.vocab_size must be "
                    + tokenizers.text().vocabSize() + ", qformer_config.vocab_size " + tokenizers.qformer().vocabSize()
                    + " and image_token_index " + tokenizers.imageTokenIndex());
        }
        StateDict weights = StateDict.random(scalarType(), torchDevice(), 42);
        weights.linears().toInt8(quantizeLinears);
        weights.linears().toInt4(quantizeInt4);
        return new InstructBlip(sizes, weights, List.of());
    }

    /** Measures and sets the libtorch thread count for this model on this machine (see {@link ThreadChoice}); once per shape. */
    public ThreadChoice threadChoice() {
        return ThreadChoice.apply(sizes().text(), scalarType(), storedQuantization(), torchDevice());
    }

    /** The tokenizers and image transform that go with a loaded model. */
    public InstructBlipProcessor processor(InstructBlip m) {
        return InstructBlipProcessor.load(m.config(), source().llmTokenizerDirectory(), qformerVocabPath());
    }

    /** The Q-Former's vocab.txt: as given, else where each layout keeps it. */
    public Path qformerVocabPath() {
        Path vocab = path(qformerVocab);
        if (vocab != null) {
            return vocab;
        }
        ModelSource s = source();
        return s.isHuggingFace() ? s.hfDirectory().resolve("qformer_tokenizer").resolve("vocab.txt")
                : s.lavisInstructBlip().resolveSibling("vocab.txt");
    }

    /** Model and processor together; close the result to free the model. */
    public EmoVit open() {
        InstructBlip m = load();
        try {
            return new EmoVit(m, processor(m));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** A short name for responses and output files: the model directory's name (or "emovit-tiny-random"). */
    public String displayName() {
        if (isRandom()) {
            return "emovit-random-" + Path.of(config).getFileName().toString().replaceFirst("\\.json$", "");
        }
        if (isEmbedded()) {
            return "emovit-tiny-random";
        }
        String base = model != null ? Path.of(model).getFileName().toString() : Path.of(qformer).getFileName().toString();
        return overlay == null ? base : base + "+" + Path.of(overlay).getFileName();
    }

    /**
     * What identifies this model's outputs (for results files that must not mix runs): the weights' locations
     * with each file's size and modification time, the dtype. The device is left out: it does not change what
     * the model answers beyond rounding.
     */
    public java.util.Map<String, String> identity() {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        if (isEmbedded()) {
            out.put("model", displayName());
        }
        put(out, "model", model);
        put(out, "vit", vit);
        put(out, "qformer", qformer);
        put(out, "llm", llm);
        put(out, "config", config);
        put(out, "overlay", overlay);
        if (!isEmbedded() && model == null) {
            out.put("preset", config == null ? String.valueOf(preset) : "config");
        }
        out.put("dtype", dtypeName());
        return out;
    }

    private static void put(java.util.Map<String, String> out, String key, String file) {
        if (file == null) {
            return;
        }
        Path p = Path.of(file).toAbsolutePath().normalize();
        String stamp = "";
        try {
            if (java.nio.file.Files.isRegularFile(p)) {
                stamp = " (" + java.nio.file.Files.size(p) + " bytes, modified " + java.nio.file.Files.getLastModifiedTime(p) + ")";
            }
        } catch (java.io.IOException e) {
            stamp = " (unreadable)";
        }
        out.put(key, p + stamp);
    }

    private static Path path(String s) {
        return s == null ? null : Path.of(s);
    }
}
