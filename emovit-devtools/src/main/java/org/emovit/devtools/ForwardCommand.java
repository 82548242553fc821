package org.emovit.devtools;

import org.emovit.options.ModelOptions;
import org.emovit.model.Owned;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.emovit.api.EmbeddedModel;
import org.emovit.generate.GreedyDecoder;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.Ops;
import org.emovit.model.Tensors;
import org.emovit.train.Trainer;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs the model on tensors saved from Python and writes its outputs, to check a checkpoint numerically. */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = {"Run one forward pass on given input tensors and write every intermediate output, to compare with the Python reference.",
                "Inputs (safetensors): input.pixel_values, input.qformer_input_ids, input.qformer_attention_mask, input.input_ids, "
                        + "input.attention_mask, optional input.labels (the `input.` prefix is optional).",
                "Outputs (float32 safetensors): vision_last_hidden_state, qformer_query_output, language_model_inputs, logits, "
                        + "loss (with labels), greedy_ids (sample 0, with --greedy N)."})
public final class ForwardCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--inputs", required = true, paramLabel = "IN.safetensors")
    Path inputs;

    @Option(names = "--out", required = true, paramLabel = "OUT.safetensors")
    Path out;

    @Option(names = "--greedy", defaultValue = "0", paramLabel = "N", description = "Also decode N tokens greedily after sample 0.")
    int greedy;

    @Option(names = "--grads", description = "Also write grad.<name> for every tensor training tunes (ViT and LLM frozen); needs input.labels.")
    boolean grads;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (modelOptions.isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        Map<String, RawTensor> results = new LinkedHashMap<>();
        try (NoGradGuard noGrad = grads ? null : new NoGradGuard(); Owned.Scope scope = Owned.scope();
             TensorSource in = Safetensors.open(inputs);
             InstructBlip model = grads
                     ? InstructBlipLoader.load(modelOptions.source(), modelOptions.scalarType(), modelOptions.torchDevice(), Trainer::isTrainable)
                     : modelOptions.load()) {
            if (grads) {
                if (!has(in, "labels")) {
                    throw new IllegalArgumentException("--grads needs input.labels in " + inputs);
                }
                model.namedParameters().forEach((k, t) -> {
                    if (Trainer.isTrainable(k)) {
                        t.requires_grad_(true);
                    }
                });
            }
            Tensor pixels = tensor(in, "pixel_values");
            Tensor qIds = tensor(in, "qformer_input_ids");
            Tensor qMask = tensor(in, "qformer_attention_mask");
            long[][] ids = rows(in, "input_ids");
            Tensor mask = tensor(in, "attention_mask");
            InstructBlip.Outputs o = model.forward(pixels, qIds, qMask, ids, mask);
            results.put("vision_last_hidden_state", Tensors.toRawF32(o.visionLastHiddenState()));
            results.put("qformer_query_output", Tensors.toRawF32(o.qformerQueryOutput()));
            results.put("language_model_inputs", Tensors.toRawF32(o.languageModelInputs()));
            results.put("logits", Tensors.toRawF32(o.logits()));
            if (has(in, "labels")) {
                Tensor loss = InstructBlip.loss(o.logits(), tensor(in, "labels"));
                results.put("loss", Tensors.toRawF32(loss.reshape(1)));
                if (grads) {
                    loss.backward();
                    model.namedParameters().forEach((k, t) -> {
                        if (Trainer.isTrainable(k) && t.grad().defined()) {
                            results.put("grad." + k, Tensors.toRawF32(t.grad()));
                        }
                    });
                }
            }
            if (greedy > 0) {
                model.namedParameters().values().forEach(t -> t.requires_grad_(false));
                results.put("greedy_ids", RawTensor.ofLongs(new long[] {greedy}, greedyIds(model, o, ids, mask)));
            }
        }
        Safetensors.write(out, results, Map.of("producer", "emovit forward"));
        spec.commandLine().getOut().println("wrote " + results.keySet() + " to " + out);
        return 0;
    }

    /** Greedy continuation of sample 0 from its real (unmasked) positions. */
    private long[] greedyIds(InstructBlip model, InstructBlip.Outputs o, long[][] ids, Tensor mask) {
        NoGradGuard noGrad = new NoGradGuard();
        try {
            return greedyIdsNoGrad(model, o, ids, mask);
        } finally {
            noGrad.close();
        }
    }

    private long[] greedyIdsNoGrad(InstructBlip model, InstructBlip.Outputs o, long[][] ids, Tensor mask) {
        long[] m = Tensors.toLongs(Ops.slice(mask, 0, 0, 1));
        Tensor embeds = model.inputEmbeddings(new long[][] {ids[0]}, Ops.slice(o.languageModelInputs(), 0, 0, 1));
        long kept = 0;
        for (long v : m) {
            kept += v;
        }
        long[] keep = new long[(int) kept];
        for (int j = 0, k = 0; j < m.length; j++) {
            if (m[j] == 1) {
                keep[k++] = j;
            }
        }
        Tensor index = Tensors.fromLongs(keep, keep.length).to(embeds.device(), org.bytedeco.pytorch.global.torch.ScalarType.Long);
        Tensor context = embeds.index_select(1, index);
        Tensor contextMask = Tensors.fromLongs(ones(keep.length), 1, keep.length);
        int eos = model.config().text().eosTokenId();
        int pad = model.config().text().padTokenId() >= 0 ? model.config().text().padTokenId() : eos;
        long[] produced = new GreedyDecoder(model.languageModel(), eos, pad).generate(context, contextMask, greedy, null)[0];
        long[] fixed = new long[greedy];
        java.util.Arrays.fill(fixed, pad);
        System.arraycopy(produced, 0, fixed, 0, produced.length);
        return fixed;
    }

    private static long[] ones(int n) {
        long[] a = new long[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }

    private static boolean has(TensorSource in, String name) {
        return in.contains("input." + name) || in.contains(name);
    }

    private static RawTensor raw(TensorSource in, String name) {
        if (in.contains("input." + name)) {
            return in.get("input." + name);
        }
        if (in.contains(name)) {
            return in.get(name);
        }
        throw new IllegalArgumentException("input tensor 'input." + name + "' is missing from " + in.describe());
    }

    private static Tensor tensor(TensorSource in, String name) {
        return Tensors.viewOf(raw(in, name)).clone();
    }

    private static long[][] rows(TensorSource in, String name) {
        RawTensor t = raw(in, name);
        if (t.shape().length != 2) {
            throw new IllegalArgumentException("input tensor '" + name + "' in " + in.describe() + " must be 2-D [batch, length]");
        }
        long[] flat = t.toLongArray();
        int r = (int) t.shape()[0], c = (int) t.shape()[1];
        long[][] out = new long[r][c];
        for (int i = 0; i < r; i++) {
            System.arraycopy(flat, i * c, out[i], 0, c);
        }
        return out;
    }
}
