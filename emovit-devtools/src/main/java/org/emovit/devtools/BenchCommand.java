package org.emovit.devtools;

import java.io.IOException;
import org.emovit.model.Owned;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.CandidateScorer;
import org.emovit.generate.DecodingBatch;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipInputs;
import org.emovit.model.PrefillInputs;
import org.emovit.model.InstructBlipConfig;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.ModelSource;
import org.emovit.convert.ModelConverter;
import org.emovit.model.CpuInfo;
import org.emovit.model.NativeEnvironment;
import org.emovit.model.quant.Int4Weight;
import org.emovit.model.KvCache;
import org.emovit.model.RowSlotCache;
import org.emovit.model.Ops;
import org.emovit.model.Precision;
import org.emovit.model.PrecisionChoice;
import org.emovit.model.ThreadChoice;
import org.emovit.model.NativeMemory;
import org.emovit.model.StateDict;
import org.emovit.model.Tensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Times the model at real InstructBLIP-Vicuna-7B shapes with random weights (nothing to download): vision
 * encoder, Q-Former + projection, LLM prefill over the 32 query slots and a prompt, and greedy decoding.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark one image + prompt through the model at real sizes (random weights): time per stage, "
                + "each stage's rate against this machine's own matmul rate and memory bandwidth measured in the same run, and peak RSS.")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--preset", defaultValue = "vicuna7b", description = "Model sizes (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--config", paramLabel = "config.json", description = "HF InstructBLIP config.json for the sizes instead of --preset.")
    Path config;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Time this Hugging Face folder's weights (a download, or `emovit convert`'s output, quantised or not) instead of random ones: "
                    + "loaded as every command loads it, mapped in place; its config gives the sizes.")
    Path model;

    private static final String DTYPE_HELP = "f32, bf16 or auto: the machine's choice for the model, as every command makes it "
            + "(default: ${DEFAULT-VALUE}; the choice and its reason are printed).";

    @Option(names = "--dtype", defaultValue = "auto", description = DTYPE_HELP)
    String dtype;

    @Option(names = "--llm-layers", defaultValue = "0", paramLabel = "N",
            description = "LLM decoder layers instead of the config's (same widths; 4 makes a quick comparison at 7B widths).")
    int llmLayers;

    @Option(names = "--vit-layers", defaultValue = "0", paramLabel = "N", description = "ViT blocks instead of the config's (same widths).")
    int vitLayers;

    @Option(names = "--quantize", defaultValue = "none", paramLabel = "int4|int8|none",
            description = "int8: the LLM's and the ViT's Linears as symmetric int8 per output channel, as `emovit convert --quantize int8` "
                    + "stores them; int4: the LLM's in 4 bits (a bf16 scale a group of 32, as `emovit convert --quantize int4` "
                    + "stores them) on emovit's native 4-bit kernel where it loads, else libtorch's, the ViT's int8 (default: ${DEFAULT-VALUE}).")
    String quantize;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--batch", defaultValue = "1", description = "Images per forward (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--prompt-tokens", defaultValue = "64", description = "Prompt length in LLM tokens (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--new-tokens", defaultValue = "8", description = "Greedy tokens to decode (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs after one warm-up (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch intra-op threads (default: measured, as every command "
            + "picks them: the fastest decode-shaped product among thread counts whose prefill-shaped one is within 25 %% of the best).")
    int threads;

    @Option(names = "--classify-batches", split = ",", paramLabel = "B",
            description = "Also time score-mode classification (8 answers scored in the prompt's LLM pass) at these batch sizes, e.g. 1,4,16.")
    List<Integer> classifyBatches = new ArrayList<>();

    @Option(names = "--train-steps", defaultValue = "0",
            description = "Also time N training steps (ViT and LLM frozen, AdamW on the Q-Former, query tokens, projection; "
                    + "the prompt plus 16 answer tokens per sample, --batch samples).")
    int trainSteps;

    @Option(names = "--heatmap",
            description = "Also time one Grad-CAM map (a backward pass through the LLM and Q-Former) and one rollout map of one image, "
                    + "beside a score-mode classification of it, each with the resident memory it needed (peak during it less RSS before).")
    boolean heatmap;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Device dev = ModelSpec.torchDevice(device);
        if (threads > 0) {
            ThreadChoice.set(threads);
        }
        if (model != null && (config != null || llmLayers > 0 || vitLayers > 0 || !quantize.equalsIgnoreCase("none"))) {
            throw new IllegalArgumentException("--model takes its sizes and quantisation from the folder: leave out --config, --llm-layers, --vit-layers and --quantize");
        }
        org.emovit.model.quant.Quantization quantization = model != null ? org.emovit.model.quant.Quantization.storedIn(model)
                : org.emovit.model.quant.Quantization.parse(quantize);
        InstructBlipConfig cfg = model != null ? InstructBlipConfig.read(model.resolve("config.json"))
                : config != null ? InstructBlipConfig.read(config) : InstructBlipConfig.preset(preset);
        if (llmLayers > 0) {
            cfg = cfg.withText(cfg.text().withLayers(llmLayers));
        }
        if (vitLayers > 0) {
            cfg = cfg.withVision(cfg.vision().withLayers(vitLayers));
        }
        PrecisionChoice choice = PrecisionChoice.of(dtype, cfg, dev.is_cuda(), quantization.any());
        Precision precision = choice.precision();
        String threadReason = threads > 0 ? "threads: " + threads + " (--threads)"
                : ThreadChoice.apply(cfg.text(), precision.scalarType(), quantization, dev).reason();
        out.printf(Locale.ROOT, "model: %s (%d LLM layers, %d ViT blocks), %s, %s%s on %s, %d threads; batch %d, %d query + %d prompt tokens, %d new tokens%n",
                model != null ? model : config != null ? config : preset, cfg.text().numLayers(), cfg.vision().numLayers(),
                model != null ? "its weights" : "random weights", precision,
                quantization.note(), device, torch.get_num_threads(), batch, cfg.numQueryTokens(), promptTokens, newTokens);
        out.println(CpuInfo.current().describe());
        out.println("compute type: " + choice);
        if (quantization.any()) {
            out.println(quantization.productsLine());
        }
        out.println(threadReason);
        out.println(NativeEnvironment.describe(System::getenv));
        out.flush();

        try (NoGradGuard noGrad = new NoGradGuard(); Owned.Scope scope = Owned.scope()) {
            // Before the model exists, so the probes' buffers do not add to the model's peak memory.
            Machine machine = measureMachine(cfg, precision, quantization, dev, promptTokens);
            NativeMemory.trim();   // the probes' buffers are not the model's memory
            long t0 = System.nanoTime();
            InstructBlip model = this.model != null ? InstructBlipLoader.load(ModelSource.huggingFace(this.model), precision.scalarType(), dev)
                    : randomModel(cfg, precision, quantization, dev);
            out.printf(Locale.ROOT, "%s in %.1f s, peak RSS so far %.2f GiB%n", this.model != null ? "loaded" : "built",
                    (System.nanoTime() - t0) / 1e9, peakRssGb());
            out.flush();

            int size = cfg.vision().imageSize();
            Tensor pixels = torch.randn(new long[] {batch, 3, size, size}, Tensors.options(ScalarType.Float, dev));
            Tensor qIds = torch.randint(3, Math.min(2000, cfg.qformer().vocabSize() - 1), new long[] {batch, Math.min(promptTokens, Math.min(128, cfg.qformer().maxPositions()))}, Tensors.options(ScalarType.Long, dev));
            Tensor qMask = torch.ones(new long[] {batch, qIds.size(1)}, Tensors.options(ScalarType.Long, dev));
            long[][] ids = new long[batch][cfg.numQueryTokens() + promptTokens];
            for (long[] row : ids) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = j < cfg.numQueryTokens() ? (cfg.imageTokenIndex() >= 0 ? cfg.imageTokenIndex() : 0) : 3 + j % (cfg.text().vocabSize() - 4);
                }
            }
            Tensor mask = torch.ones(new long[] {batch, ids[0].length}, Tensors.options(ScalarType.Long, dev));

            List<double[]> samples = new ArrayList<>();
            for (int run = 0; run <= runs; run++) {
                try (Owned.Scope step = Owned.scope()) {
                    double[] s = new double[5];
                    long a = System.nanoTime();
                    // The stages one by one (to time each): the ViT alone, then the same entry point as every caller.
                    Tensor image = model.encodeImage(pixels);
                    sync(image, dev);
                    long b = System.nanoTime();
                    PrefillInputs prefill = model.prefillInputs(image, new InstructBlipInputs(pixels, qIds, qMask, ids, mask));
                    sync(prefill.inputsEmbeds(), dev);
                    long c = System.nanoTime();
                    KvCache cache = new KvCache(cfg.text().numLayers());   // closed below
                    Tensor hidden = model.languageModel().forward(prefill.inputsEmbeds(), prefill.attentionMask(), prefill.positionIds(), cache);
                    Tensor logits = model.languageModel().logits(Ops.slice(hidden, 1, hidden.size(1) - 1, hidden.size(1)));
                    sync(logits, dev);
                    long d = System.nanoTime();
                    // the steps on the cache generate decodes with: the prompt's keys copied into a row's slot once,
                    // each step's written in place (and, with a native 4-bit model, the whole step in one native call)
                    RowSlotCache slots = new RowSlotCache(cfg.text().numLayers());   // closed below
                    slots.addRows(cache);
                    cache.close();
                    long joined = System.nanoTime();
                    long pos = ids[0].length;
                    long productsBefore = Int4Weight.nativeProductNanos();
                    for (int t = 0; t < newTokens; t++) {
                        Tensor next = logits.argmax(new LongOptional(-1), false).reshape(batch, 1);
                        Tensor p = torch.full(new long[] {batch, 1}, new Scalar(pos++), Tensors.options(ScalarType.Long, dev));
                        Tensor h = model.languageModel().forward(model.languageModel().embed(next),
                                torch.ones(new long[] {batch, 1}, Tensors.options(ScalarType.Long, dev)), p, slots);
                        logits = model.languageModel().logits(h);
                        sync(logits, dev);
                    }
                    long e = System.nanoTime();
                    long products = Int4Weight.nativeProductNanos() - productsBefore;
                    slots.close();
                    s[0] = (b - a) / 1e6;
                    s[1] = (c - b) / 1e6;
                    s[2] = (d - c) / 1e6;
                    s[3] = newTokens == 0 ? 0 : (e - joined) / 1e6 / newTokens;
                    s[4] = newTokens == 0 ? 0 : products / 1e6 / newTokens;
                    if (run > 0) {
                        samples.add(s);
                    }
                    out.printf(Locale.ROOT, "%s: vision %.0f ms, qformer+proj %.0f ms, llm prefill %.0f ms, decode %.0f ms/token (RSS %.2f GiB)%n",
                            run == 0 ? "warm-up" : "run " + run, s[0], s[1], s[2], s[3], rssGb());
                    out.flush();
                }
            }
            double[] med = new double[5];
            for (int i = 0; i < 5; i++) {
                final int k = i;
                double[] v = samples.stream().mapToDouble(x -> x[k]).sorted().toArray();
                med[i] = v[v.length / 2];
            }
            out.printf(Locale.ROOT, "median: vision %.0f ms | qformer+proj %.0f ms | llm prefill %.0f ms | forward total %.0f ms | decode %.1f ms/token | %d new tokens %.0f ms%n",
                    med[0], med[1], med[2], med[0] + med[1] + med[2], med[3], newTokens, med[3] * newTokens);
            if (med[4] > 0) {
                // where a decoding step's time goes: the weights' read (the kernel) against everything around it
                out.printf(Locale.ROOT, "decode split: native 4-bit products %.1f ms/token, the rest (attention, norms, "
                        + "activations, Java) %.1f ms/token%n", med[4], med[3] - med[4]);
            }
            printRatios(out, cfg, machine, qIds.size(1), ids[0].length, med);
            if (newTokens > 0) {
                benchGenerate(out, model, new InstructBlipInputs(pixels, qIds, qMask, ids, mask), med[3]);
            }
            for (int b : classifyBatches) {
                benchClassify(out, model, cfg, dev, b, med[0] + med[1] + med[2]);
            }
            if (heatmap) {   // before training, which leaves the tuned weights requiring grad
                benchHeatmap(out, model, cfg, dev);
            }
            if (trainSteps > 0) {
                benchTrain(out, model, cfg, dev);
            }
            out.printf(Locale.ROOT, "peak RSS: %.2f GiB%n", peakRssGb());
        }
        return 0;
    }

    /**
     * This machine's rates in this run at the model's shapes, in f32 and bf16: the peak the stages are held against
     * is the best rate among the types (on a CPU without native bf16 that is f32's, not the slow bf16 kernel's).
     */
    private record Machine(long tokens, long visionTokens, Map<Precision, double[]> rates, long copyBytes,
                           double bandwidth, Precision precision, org.emovit.model.quant.Quantization quantization) {
        /** The best of every type's LLM- and ViT-shaped rate. */
        double peak() {
            return best(peakType());
        }

        /** The type with the best rate. */
        Precision peakType() {
            return rates.keySet().stream().max(java.util.Comparator.comparingDouble(this::best)).orElseThrow();
        }

        private double best(Precision p) {
            return Math.max(rates.get(p)[0], rates.get(p)[1]);
        }
    }

    /**
     * A matmul of the LLM's and of the ViT's MLP shapes in each type ({LLM rate, ViT rate} per type), and a large
     * copy for memory bandwidth (decode streams weights).
     */
    /** Random weights at the config's sizes, quantised as they are made (never the whole LLM dense). */
    private InstructBlip randomModel(InstructBlipConfig cfg, Precision precision, org.emovit.model.quant.Quantization quantization, Device dev) {
        StateDict weights = StateDict.random(precision.scalarType(), dev, 42);
        weights.linears().quantizeAs(quantization);
        weights.linears().pack(heatmap);   // the LLM's packed alone, as a converted checkpoint's values stay unread; Grad-CAM needs them
        return new InstructBlip(cfg, weights, List.of());
    }

    private Machine measureMachine(InstructBlipConfig cfg, Precision precision, org.emovit.model.quant.Quantization quantization, Device dev, long prompt) {
        long tokens = (long) batch * (cfg.numQueryTokens() + prompt), visionTokens = (long) batch * (cfg.vision().numPatches() + 1);
        Map<Precision, double[]> rates = new java.util.EnumMap<>(Precision.class);
        for (Precision p : Precision.values()) {
            rates.put(p, new double[] {
                    MachinePeak.matmulGflops(tokens, cfg.text().hiddenSize(), cfg.text().intermediateSize(), p.scalarType(), dev),
                    MachinePeak.matmulGflops(visionTokens, cfg.vision().hiddenSize(), cfg.vision().intermediateSize(), p.scalarType(), dev)});
        }
        long copyBytes = dev.is_cuda() ? 4L << 30 : 512L << 20;   // well past the caches either way
        return new Machine(tokens, visionTokens, rates, copyBytes,
                MachinePeak.copyGbps(copyBytes, dev), precision, quantization);
    }

    /** Each stage's achieved rate against the machine's, measured in this same run. */
    private void printRatios(PrintWriter out, InstructBlipConfig cfg, Machine m, long qformerText, long llmTokens, double[] med) {
        double peak = m.peak(), bandwidth = m.bandwidth();
        for (Map.Entry<Precision, double[]> r : m.rates().entrySet()) {
            out.printf(Locale.ROOT, "machine (this run): %s matmul [%dx%d]x[%dx%d] %.0f GFLOP/s, [%dx%d]x[%dx%d] %.0f GFLOP/s%s%n",
                    r.getKey(), m.tokens(), cfg.text().hiddenSize(), cfg.text().hiddenSize(), cfg.text().intermediateSize(), r.getValue()[0],
                    m.visionTokens(), cfg.vision().hiddenSize(), cfg.vision().hiddenSize(), cfg.vision().intermediateSize(), r.getValue()[1],
                    r.getKey() == m.precision() ? " (the run's type)" : "");
        }
        out.printf(Locale.ROOT, "machine (this run): matmul peak %.0f GFLOP/s (%s, the best type here); copy of %.1f GB %.1f GB/s%n",
                peak, m.peakType(), m.copyBytes() / 1e9, bandwidth);
        StageWork work = StageWork.of(cfg, batch, qformerText, promptTokens);
        String[] names = {"vision", "qformer+proj", "llm prefill"};
        double[] flops = {work.vision(), work.qformer(), work.prefill()};
        for (int i = 0; i < 3; i++) {
            double rate = flops[i] / (med[i] / 1e3) / 1e9;
            out.printf(Locale.ROOT, "ratio %s: %.4g GFLOP of matmuls in %.1f ms = %.3g GFLOP/s = %.0f%% of the matmul peak%n",
                    names[i], flops[i] / 1e9, med[i], rate, 100 * rate / peak);
        }
        if (newTokens > 0) {
            double bytes = StageWork.decodeBytes(cfg.text(), batch, llmTokens + newTokens / 2, m.precision().bytes(),
                    switch (m.quantization()) {
                        case INT8 -> 1 + 4.0 / cfg.text().hiddenSize();   // a byte per weight plus the rows' f32 scales
                        // half a byte plus a group's bf16 parameters (a scale, and a zero where affine)
                        case INT4 -> 0.5 + 2.0 * org.emovit.model.quant.Int4Format.WRITTEN.perGroup / org.emovit.model.quant.Int4Format.GROUP;
                        case NONE -> m.precision().bytes();
                    });
            double rate = bytes / (med[3] / 1e3) / 1e9;
            out.printf(Locale.ROOT, "ratio decode: %.4g MB of weights + KV cache per token in %.2f ms = %.3g GB/s = %.0f%% of the copy bandwidth%n",
                    bytes / 1e6, med[3], rate, 100 * rate / bandwidth);
        }
        out.flush();
    }

    /**
     * Decoding as every caller runs it (a {@link DecodingBatch}: EmoVIT's settings, the repetition penalty applied to
     * each row's tokens so far, the chosen tokens copied to the host at each step), against the bare step timed above.
     */
    private void benchGenerate(PrintWriter out, InstructBlip model, InstructBlipInputs inputs, double bareMs) {
        GenerationConfig emovit = GenerationConfig.emovit();
        double[] perToken = new double[runs + 1];
        for (int run = 0; run <= runs; run++) {
            try (Owned.Scope scope = Owned.scope();
                 // EOS -1: no row ends early, every run decodes newTokens steps (the weights are random)
                 DecodingBatch decoding = new DecodingBatch(model.languageModel(), -1, 0, emovit)) {
                decoding.join(model.prefillInputs(inputs));
                decoding.step();   // the first token comes from the prefill's last position: not a decoding step
                long a = System.nanoTime();
                for (int t = 0; t < newTokens; t++) {
                    decoding.step();
                }
                perToken[run] = (System.nanoTime() - a) / 1e6 / newTokens;
            }
        }
        double[] timed = Arrays.copyOfRange(perToken, 1, perToken.length);
        Arrays.sort(timed);
        out.printf(Locale.ROOT, "decode as generate runs it (DecodingBatch, repetition penalty %.0f): %.2f ms/token, median of %d runs "
                        + "(the bare step above: %.2f ms/token)%n",
                emovit.repetitionPenalty(), timed[timed.length / 2], runs, bareMs);
        out.flush();
    }

    /** Training steps on random data: ViT blocks under no-grad, loss on 16 answer tokens, backward, AdamW. */
    private void benchTrain(PrintWriter out, InstructBlip model, InstructBlipConfig cfg, Device dev) {
        org.bytedeco.pytorch.TensorVector params = new org.bytedeco.pytorch.TensorVector();
        for (var e : model.namedParameters().entrySet()) {
            if (org.emovit.train.Trainer.isTrainable(e.getKey())) {
                e.getValue().requires_grad_(true);
                params.push_back(e.getValue());
            }
        }
        org.bytedeco.pytorch.AdamW optimizer = new org.bytedeco.pytorch.AdamW(params, new org.bytedeco.pytorch.AdamWOptions(1e-5));
        int size = cfg.vision().imageSize(), answer = 16, vocab = cfg.text().vocabSize();
        int length = cfg.numQueryTokens() + promptTokens + answer;
        long[][] ids = new long[batch][length];
        long[] labels = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < length; j++) {
                ids[b][j] = j < cfg.numQueryTokens() ? (cfg.imageTokenIndex() >= 0 ? cfg.imageTokenIndex() : 0) : 3 + j % (vocab - 4);
                labels[b * length + j] = j >= length - answer ? ids[b][j] : -100;
            }
        }
        try (org.bytedeco.pytorch.AutoGradMode grad = new org.bytedeco.pytorch.AutoGradMode(true)) {
            for (int step = 0; step <= trainSteps; step++) {
                try (Owned.Scope scope = Owned.scope()) {
                    long a = System.nanoTime();
                    Tensor pixels = torch.randn(new long[] {batch, 3, size, size}, Tensors.options(ScalarType.Float, dev));
                    Tensor qIds = torch.randint(3, Math.min(2000, cfg.qformer().vocabSize() - 1),
                            new long[] {batch, Math.min(promptTokens, Math.min(128, cfg.qformer().maxPositions()))}, Tensors.options(ScalarType.Long, dev));
                    Tensor qMask = torch.ones(new long[] {batch, qIds.size(1)}, Tensors.options(ScalarType.Long, dev));
                    Tensor blocks;
                    try (NoGradGuard off = new NoGradGuard()) {
                        blocks = model.vision().encodeBlocks(pixels).detach();
                    }
                    long b = System.nanoTime();
                    PrefillInputs prefill = model.prefillInputs(model.vision().finalNorm(blocks), new InstructBlipInputs(null, qIds, qMask, ids,
                            torch.ones(new long[] {batch, length}, Tensors.options(ScalarType.Long, dev))));
                    Tensor hidden = model.languageModel().forward(prefill.inputsEmbeds(), prefill.attentionMask(), prefill.positionIds(), null);
                    Tensor loss = InstructBlip.loss(model.languageModel().logits(hidden), Tensors.fromLongs(labels, batch, length));
                    loss.backward();
                    optimizer.step();
                    optimizer.zero_grad();
                    sync(loss, dev);
                    long c = System.nanoTime();
                    out.printf(Locale.ROOT, "%s: train step %.0f ms (ViT %.0f ms, Q-Former + LLM forward/backward + AdamW %.0f ms), %.3f samples/s, RSS %.2f GiB%n",
                            step == 0 ? "train warm-up" : "train step " + step, (c - a) / 1e6, (b - a) / 1e6, (c - b) / 1e6,
                            batch * 1e9 / (c - a), rssGb());
                    out.flush();
                }
            }
        }
    }

    /**
     * Score-mode classification at batch size b: vision, Q-Former, then {@link CandidateScorer} over 8 answers.
     * The answers are synthetic ids with the shape of "Predict emotion: &lt;label&gt;&lt;/s&gt;" in LLaMA tokens
     * (4 shared tokens, 1-3 label tokens, EOS), since random weights come without a tokenizer.
     */
    private void benchClassify(PrintWriter out, InstructBlip model, InstructBlipConfig cfg, Device dev, int b, double forwardMs) {
        List<long[]> answers = syntheticAnswers(cfg);
        double best = Double.MAX_VALUE;
        for (int run = 0; run <= runs; run++) {
            try (Owned.Scope step = Owned.scope()) {
                InstructBlipInputs inputs = syntheticInputs(cfg, dev, b);
                long a = System.nanoTime();
                PrefillInputs prefill = model.prefillInputs(inputs);
                double[][] ll = new CandidateScorer(model.languageModel()).logLikelihoods(prefill, answers);
                double ms = (System.nanoTime() - a) / 1e6;
                if (ll.length != b) {
                    throw new IllegalStateException("scored " + ll.length + " rows for batch " + b);
                }
                if (run > 0) {
                    best = Math.min(best, ms);
                }
            }
        }
        out.printf(Locale.ROOT, "classify (score mode) batch %d: %.0f ms per batch, %.3f images/s, peak RSS so far %.2f GiB%s%n", b, best,
                b * 1000.0 / best, peakRssGb(),
                b == 1 ? String.format(Locale.ROOT, ", %.2fx one forward of image + prompt", best / forwardMs) : "");
        out.flush();
    }

    /**
     * The 8 answers' ids, shaped as "Predict emotion: &lt;label&gt;&lt;/s&gt;" in LLaMA tokens (4 shared tokens,
     * 1-3 label tokens, EOS), since random weights come without a tokenizer.
     */
    private static List<long[]> syntheticAnswers(InstructBlipConfig cfg) {
        int vocab = cfg.text().vocabSize();
        List<long[]> answers = new ArrayList<>();
        int[] labelLengths = {3, 2, 1, 3, 3, 3, 1, 3};
        for (int c = 0; c < 8; c++) {
            long[] a = new long[4 + labelLengths[c] + 1];
            for (int j = 0; j < a.length - 1; j++) {
                a[j] = j < 4 ? 100 + j : (200 + 10 * c + j) % vocab;
            }
            a[a.length - 1] = cfg.text().eosTokenId();
            answers.add(a);
        }
        return answers;
    }

    /** b random images with a random Q-Former instruction and the 32 query slots + --prompt-tokens LLM prompt. */
    private InstructBlipInputs syntheticInputs(InstructBlipConfig cfg, Device dev, int b) {
        int size = cfg.vision().imageSize(), vocab = cfg.text().vocabSize();
        long[][] ids = new long[b][cfg.numQueryTokens() + promptTokens];
        for (long[] row : ids) {
            for (int j = 0; j < row.length; j++) {
                row[j] = j < cfg.numQueryTokens() ? (cfg.imageTokenIndex() >= 0 ? cfg.imageTokenIndex() : 0) : 3 + j % (vocab - 4);
            }
        }
        Tensor pixels = torch.randn(new long[] {b, 3, size, size}, Tensors.options(ScalarType.Float, dev));
        Tensor qIds = torch.randint(3, Math.min(2000, cfg.qformer().vocabSize() - 1),
                new long[] {b, Math.min(promptTokens, Math.min(128, cfg.qformer().maxPositions()))}, Tensors.options(ScalarType.Long, dev));
        Tensor qMask = torch.ones(new long[] {b, qIds.size(1)}, Tensors.options(ScalarType.Long, dev));
        Tensor mask = torch.ones(new long[] {b, ids[0].length}, Tensors.options(ScalarType.Long, dev));
        return new InstructBlipInputs(pixels, qIds, qMask, ids, mask);
    }

    /**
     * One image three ways, in this order: score-mode classification (the 8 answers), the rollout map (no backward
     * pass) and the Grad-CAM map of one answer (a backward pass from its log-likelihood through the LLM and the
     * Q-Former). Each: the median time of --runs after a warm-up, and the resident memory it needed. The kernel's
     * high-water mark (VmHWM) is reset to the current RSS before each (/proc/self/clear_refs), so "peak" is each
     * one's own peak; "needed" is that peak less RSS before it (memory freed earlier but kept by the allocator is
     * in RSS and can be reused, so this is what the step added, not all it touched).
     */
    private void benchHeatmap(PrintWriter out, InstructBlip model, InstructBlipConfig cfg, Device dev) {
        List<long[]> answers = syntheticAnswers(cfg);
        org.emovit.core.Emotion emotion = org.emovit.core.Emotion.values()[0];
        String[] names = {"classify (score mode, 8 answers)", "rollout map", "grad-cam map"};
        for (int stage = 0; stage < names.length; stage++) {
            boolean reset = resetPeakRss();
            double before = rssGb();
            double[] ms = new double[runs + 1];
            for (int run = 0; run <= runs; run++) {
                try (Owned.Scope step = Owned.scope()) {
                    InstructBlipInputs inputs = syntheticInputs(cfg, dev, 1);
                    long a = System.nanoTime();
                    switch (stage) {
                        case 0 -> new CandidateScorer(model.languageModel()).logLikelihoods(model.prefillInputs(inputs), answers);
                        case 1 -> org.emovit.attribution.Attribution.rollout(model, inputs, emotion);
                        default -> org.emovit.attribution.Attribution.gradCam(model, inputs, answers.get(0), emotion);
                    }
                    ms[run] = (System.nanoTime() - a) / 1e6;
                }
            }
            double[] timed = Arrays.copyOfRange(ms, 1, ms.length);
            Arrays.sort(timed);
            double peak = peakRssGb();
            out.printf(Locale.ROOT, "heatmap bench: %s %.0f ms (median of %d, warm-up %.0f ms); RSS before %.2f GiB, %s %.2f GiB, needed %.2f GiB%n",
                    names[stage], timed[timed.length / 2], runs, ms[0], before, reset ? "peak during it" : "peak so far (VmHWM not resettable here)",
                    peak, peak - before);
            out.flush();
        }
    }

    /** Sets VmHWM to the current RSS (Linux 4.0+: "5" to /proc/self/clear_refs); false where that is not allowed. */
    static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static void sync(Tensor t, Device dev) {
        if (dev.is_cuda()) {
            t.cpu();   // a device->host copy waits for the queued kernels
        }
    }

    /** VmRSS: resident memory now. */
    static double rssGb() {
        return statusGb("VmRSS:");
    }

    /** VmHWM from /proc/self/status: the most resident memory the process has had. */
    static double peakRssGb() {
        return statusGb("VmHWM:");
    }

    private static double statusGb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) / 1024.0 / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
