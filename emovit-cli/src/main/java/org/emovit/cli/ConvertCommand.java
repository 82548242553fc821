package org.emovit.cli;

import org.emovit.options.ModelOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.emovit.convert.ModelConverter;
import org.emovit.api.ModelSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Writes a model, overlay merged, as a Hugging Face directory that later loads by mapping its tensors in place. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Write the model (any layout, --overlay merged in) as a ready-to-map Hugging Face directory: "
                + "model.safetensors (or shards with model.safetensors.index.json) in --dtype, config.json, tokenizer.model "
                + "and qformer_tokenizer/vocab.txt. `--model DIR --dtype` the same then loads without copying.",
                "The output is byte-for-byte the same for the same inputs."})
public final class ConvertCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The new model folder (absent or empty).")
    Path out;

    @Option(names = "--max-shard-bytes", defaultValue = "5000000000", paramLabel = "N",
            description = "Split the tensors into shards of at most N bytes each (default: ${DEFAULT-VALUE}, as Hugging Face).")
    long maxShardBytes;

    @Option(names = "--quantize", defaultValue = "none", paramLabel = "int4|int8|none",
            description = "int8: every Linear of the LLM (its LM head too) and of the ViT's blocks as symmetric int8 per output channel with F32 scales "
                    + "(<name>.weight I8, <name>.weight_scale F32), mapped in place by --model DIR; int4: the LLM's Linears in 4 bits "
                    + "(<name>.weight U8 [out, in/2], <name>.weight_group_scales BF16 [in/32, out]: groups of 32 with a scale, 4.5 bits a weight "
                    + "as llama.cpp's Q4_0; files with <name>.weight_scale_zero, a scale and a zero a group, still load), "
                    + "mapped in place, the ViT's int8 (default: ${DEFAULT-VALUE}).")
    String quantize;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ModelSpec model = modelOptions.spec();
        if (!"cpu".equalsIgnoreCase(model.device())) {
            throw new IllegalArgumentException("--device: convert works on the CPU (the files it writes load on any device)");
        }
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("--max-shard-bytes must be positive, not " + maxShardBytes);
        }
        PrintWriter out = spec.commandLine().getOut();
        long start = System.nanoTime();
        org.emovit.model.quant.Quantization quantization = org.emovit.model.quant.Quantization.parse(quantize);
        ModelConverter.Result r = ModelConverter.convert(model, this.out, maxShardBytes, quantization);
        out.printf("converted %s: %d tensors, %.1f MB of %s weights%s in %d file(s) to %s in %.1f s%n", model.displayName(),
                r.tensors(), r.tensorBytes() / 1e6, model.precision(),
                quantization.note(),
                r.files().size(), this.out.toAbsolutePath().normalize(), (System.nanoTime() - start) / 1e9);
        out.flush();
        return 0;
    }
}
