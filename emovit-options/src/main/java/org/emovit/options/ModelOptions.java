package org.emovit.options;

import java.nio.file.Path;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.InstructBlipProcessor;
import org.emovit.api.ModelSpec;
import org.emovit.model.InstructBlip;
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

    @Option(names = "--config", paramLabel = "config.json", description = "LAVIS layout: an HF InstructBLIP config.json giving the sizes instead of --preset. "
                    + "Without --model or --vit/--qformer/--llm: random weights at these sizes with the embedded tokenizers (benchmarks, tools/soak).")
    Path config;

    @Option(names = "--qformer-vocab", paramLabel = "vocab.txt",
            description = "Q-Former BERT vocabulary (default: HF_DIR/qformer_tokenizer/vocab.txt, or vocab.txt beside the LAVIS checkpoint).")
    Path qformerVocab;

    @Option(names = "--overlay", paramLabel = "FILE", description = "EmoVIT tuned tensors (e.g. model_weights1.pth) over the base model.")
    Path overlay;

    @Option(names = "--dtype", defaultValue = "auto", description = "f32, bf16 or auto: on CUDA bf16; on a CPU f32 for small models, "
            + "bf16 where the CPU has native bf16 (avx512_bf16, amx_bf16), else f32 unless that would not fit in memory "
            + "(default: ${DEFAULT-VALUE}; `emovit bench` prints the choice and why).")
    String dtype;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    /** The options as the model specification the server and the Spark job also use. */
    public ModelSpec spec() {
        return new ModelSpec(str(model), str(vit), str(qformer), str(llm), preset, str(config), str(qformerVocab), str(overlay),
                dtype, device);
    }

    private static String str(Path p) {
        return p == null ? null : p.toString();
    }

    public boolean isEmbedded() {
        return spec().isEmbedded();
    }

    public ModelSource source() {
        return spec().source();
    }

    public ScalarType scalarType() {
        return spec().scalarType();
    }

    public Device torchDevice() {
        return spec().torchDevice();
    }

    public InstructBlip load() {
        return spec().load();
    }

    public InstructBlipProcessor processor(InstructBlip m) {
        return spec().processor(m);
    }
}
