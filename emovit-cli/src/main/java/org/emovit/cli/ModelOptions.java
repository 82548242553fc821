package org.emovit.cli;

import java.nio.file.Path;
import java.util.Locale;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.InstructBlipProcessor;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.ModelSource;
import picocli.CommandLine.Option;

/** Where the weights are and how to run them; shared by every command that loads the model. */
public final class ModelOptions {

    @Option(names = "--model", paramLabel = "HF_DIR",
            description = "Hugging Face InstructBLIP directory (config.json + safetensors, e.g. Salesforce/instructblip-vicuna-7b). "
                    + "Default: the tiny random-weight test model embedded in emovit.")
    Path model;

    @Option(names = "--vit", paramLabel = "EVA.pth", description = "LAVIS layout: EVA ViT-g state dict.")
    Path vit;

    @Option(names = "--qformer", paramLabel = "INSTRUCTBLIP.pth", description = "LAVIS layout: InstructBLIP checkpoint (Q-Former, query tokens, llm_proj, ln_vision).")
    Path qformer;

    @Option(names = "--llm", paramLabel = "VICUNA_DIR", description = "LAVIS layout: Vicuna Hugging Face directory.")
    Path llm;

    @Option(names = "--preset", defaultValue = "vicuna7b", description = "LAVIS layout: model sizes preset (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--config", paramLabel = "config.json", description = "LAVIS layout: an HF InstructBLIP config.json giving the sizes instead of --preset.")
    Path config;

    @Option(names = "--qformer-vocab", paramLabel = "vocab.txt",
            description = "Q-Former BERT vocabulary (default: HF_DIR/qformer_tokenizer/vocab.txt, or vocab.txt beside the LAVIS checkpoint).")
    Path qformerVocab;

    @Option(names = "--overlay", paramLabel = "FILE", description = "EmoVIT tuned tensors (e.g. model_weights1.pth) over the base model.")
    Path overlay;

    @Option(names = "--dtype", defaultValue = "f32", description = "f32 or bf16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    public boolean isEmbedded() {
        return model == null && vit == null && qformer == null && llm == null;
    }

    public ModelSource source() {
        ModelSource s;
        if (isEmbedded()) {
            s = ModelSource.huggingFace(EmbeddedModel.directory());
        } else if (model != null) {
            if (vit != null || qformer != null || llm != null) {
                throw new IllegalArgumentException("give either --model or --vit/--qformer/--llm, not both");
            }
            s = ModelSource.huggingFace(model);
        } else {
            s = ModelSource.lavis(vit, qformer, llm, preset, config);
        }
        return overlay == null ? s : s.withOverlay(overlay);
    }

    public ScalarType scalarType() {
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> ScalarType.Float;
            case "bf16", "bfloat16" -> ScalarType.BFloat16;
            default -> throw new IllegalArgumentException("--dtype must be f32 or bf16, not '" + dtype + "'");
        };
    }

    public Device torchDevice() {
        return parseDevice(device);
    }

    static Device parseDevice(String name) {
        String d = name.toLowerCase(Locale.ROOT);
        if (d.startsWith("cuda") && !torch.cuda_is_available()) {
            throw new IllegalArgumentException("--device " + name + ": CUDA is not available in this libtorch/machine");
        }
        if (!d.equals("cpu") && !d.startsWith("cuda")) {
            throw new IllegalArgumentException("--device must be cpu or cuda[:N], not '" + name + "'");
        }
        return new Device(d);
    }

    public InstructBlip load() {
        return InstructBlipLoader.load(source(), scalarType(), torchDevice());
    }

    public InstructBlipProcessor processor(InstructBlip m) {
        ModelSource s = source();
        Path vocab = qformerVocab;
        if (vocab == null) {
            vocab = s.isHuggingFace() ? s.hfDirectory().resolve("qformer_tokenizer").resolve("vocab.txt")
                    : s.lavisInstructBlip().resolveSibling("vocab.txt");
        }
        return InstructBlipProcessor.load(m.config(), s.llmTokenizerDirectory(), vocab);
    }
}
