package org.emovit.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.emovit.image.EvalTransform;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.core.JsonlFile;
import org.emovit.model.InstructBlip;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;

/**
 * EmoVIT's visual instruction tuning: the ViT and the LLM stay frozen; the Q-Former (with its embeddings), the
 * query tokens, the projection and ln_vision learn from the LM loss on the answer tokens, with AdamW (no weight
 * decay on 1-D tensors, as LAVIS groups them) and LAVIS's warm-up + cosine schedule. Every random choice derives
 * from (seed, epoch, sample), so a run resumed from a checkpoint continues exactly as if it had not stopped.
 */
public final class Trainer {

    /** One optimizer step's record (also a line of metrics.jsonl). */
    public record StepMetrics(int step, int epoch, double loss, double lr, double samplesPerSecond) {}

    public record Result(int steps, List<StepMetrics> history, int skippedSamples) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final InstructBlip model;
    private final Batcher batcher;
    private final TrainConfig config;
    private final Path runDir;
    private final Map<String, Tensor> trainable = new LinkedHashMap<>();
    private final AdamW optimizer;
    private final TrainTransform trainTransform;
    private final EvalTransform evalTransform;
    private FeatureCache featureCache;
    private Validation validation;
    private Consumer<Validation.Result> onValidation;

    /** The tensors EmoVIT tunes (HF names): everything but the ViT's blocks and the LLM. */
    public static boolean isTrainable(String key) {
        return key.startsWith("qformer.") || key.equals("query_tokens") || key.startsWith("language_projection.")
                || key.startsWith("vision_model.post_layernorm.");
    }

    public Trainer(InstructBlip model, Batcher batcher, TrainConfig config, Path runDir) {
        this.model = model;
        this.batcher = batcher;
        this.config = config;
        this.runDir = runDir;
        TensorVector decay = new TensorVector(), noDecay = new TensorVector();
        for (Map.Entry<String, Tensor> p : model.namedParameters().entrySet()) {
            if (isTrainable(p.getKey())) {
                Tensor t = p.getValue();
                t.requires_grad_(true);
                trainable.put(p.getKey(), t);
                // LAVIS: no weight decay for p.ndim < 2 or names with "bias", "ln", "bn"
                boolean oneD = t.dim() < 2 || p.getKey().contains("bias") || p.getKey().contains("norm") || p.getKey().contains("LayerNorm");
                (oneD ? noDecay : decay).push_back(t);
            }
        }
        AdamWOptions withDecay = new AdamWOptions(config.initLr());
        withDecay.weight_decay().put(config.weightDecay());
        AdamWOptions without = new AdamWOptions(config.initLr());
        without.weight_decay().put(0.0);
        optimizer = new AdamW(decay, withDecay);
        optimizer.add_param_group(new OptimizerParamGroup(noDecay, without));
        int size = model.config().vision().imageSize();
        trainTransform = new TrainTransform(size);
        evalTransform = new EvalTransform(size);
    }

    /**
     * Ends training: the tuned tensors stop requiring gradients. libtorch picks other kernels for weights that
     * require gradients (even with autograd off), which round differently in the last bit; after this the model
     * computes exactly as one loaded with the exported overlay.
     */
    public void freeze() {
        trainable.values().forEach(t -> t.requires_grad_(false));
    }

    /**
     * Keeps the frozen ViT's output per image on disk and skips the ViT when it is there. Only meaningful with
     * the deterministic eval transform; with augmentation on it is used only when asked for (every crop
     * differs, so the cache then holds the un-augmented features: a different, cheaper recipe).
     */
    public Trainer withFeatureCache(FeatureCache cache) {
        this.featureCache = cache;
        return this;
    }

    /** Runs the validation after every epoch; results go to metrics.jsonl ({"val_loss", "val_accuracy"}) and the callback. */
    public Trainer withValidation(Validation v, Consumer<Validation.Result> callback) {
        this.validation = v;
        this.onValidation = callback;
        return this;
    }

    public Map<String, Tensor> trainable() {
        return trainable;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /**
     * Trains from the given step (0, or a checkpoint's) to the end of the schedule or config.maxSteps().
     *
     * @param onStep called after each optimizer step (progress display)
     */
    public Result run(List<TrainingSample> records, int startStep, Consumer<StepMetrics> onStep) {
        int perEpoch = (records.size() + config.batchSize() - 1) / config.batchSize();
        int stepsPerEpoch = Math.max(1, perEpoch / config.accumGradIters());
        int totalSteps = config.maxSteps() > 0 ? config.maxSteps() : stepsPerEpoch * config.maxEpoch();
        LrSchedule schedule = LrSchedule.of(config);
        List<StepMetrics> history = new ArrayList<>();
        int skipped = 0;
        int step = startStep;
        Path metrics = runDir.resolve("metrics.jsonl");
        try (JsonlFile log = JsonlFile.open(metrics)) {
            while (step < totalSteps) {
                int epoch = step / stepsPerEpoch, inEpoch = step % stepsPerEpoch;
                List<Integer> order = epochOrder(records.size(), epoch);
                double lr = schedule.lr(epoch, inEpoch);
                OptimizerParamGroupVector groups = optimizer.param_groups();
                for (long g = 0; g < groups.size(); g++) {
                    groups.get(g).options().set_lr(lr);
                }
                long started = System.nanoTime();
                double lossSum = 0;
                int samples = 0;
                for (int micro = 0; micro < config.accumGradIters(); micro++) {
                    int first = ((inEpoch * config.accumGradIters() + micro) * config.batchSize()) % Math.max(1, records.size());
                    List<TrainingSample> batch = new ArrayList<>();
                    List<float[]> pixels = new ArrayList<>();
                    for (int k = 0; k < config.batchSize() && first + k < records.size(); k++) {
                        int index = order.get(first + k);
                        TrainingSample r = records.get(index);
                        try {
                            if (featureCache != null) {
                                pixels.add(null);   // the features come from the cache, or from the eval transform
                            } else {
                                RgbImage img = ImageDecoder.decode(r.image());
                                Random random = new Random(config.seed() * 1_000_003L + (long) epoch * records.size() + index);
                                pixels.add(config.augment() ? trainTransform.apply(img, random) : evalTransform.apply(img));
                            }
                            batch.add(r);
                        } catch (RuntimeException e) {
                            skipped++;
                        }
                    }
                    if (batch.isEmpty()) {
                        continue;
                    }
                    lossSum += microStep(batch, pixels);
                    samples += batch.size();
                }
                if (config.clipGradNorm() > 0) {
                    torch.clip_grad_norm_(new TensorVector(trainable.values().toArray(new Tensor[0])), config.clipGradNorm());
                }
                optimizer.step();
                optimizer.zero_grad();
                step++;
                double seconds = (System.nanoTime() - started) / 1e9;
                StepMetrics m = new StepMetrics(step, epoch, lossSum / config.accumGradIters(), lr, samples / Math.max(seconds, 1e-9));
                history.add(m);
                log.append(m);
                if (onStep != null) {
                    onStep.accept(m);
                }
                if (validation != null && (step % stepsPerEpoch == 0 || step == totalSteps)) {
                    Validation.Result v = validation.run(epoch, this);
                    ObjectNode line = JSON.createObjectNode();
                    line.put("step", step);
                    line.put("epoch", epoch);
                    line.put("val_loss", v.loss());
                    line.put("val_accuracy", v.accuracy());
                    line.put("val_classified", v.classified());
                    log.append(line);
                    if (onValidation != null) {
                        onValidation.accept(v);
                    }
                }
                if (step % config.checkpointEvery() == 0 || step == totalSteps) {
                    Checkpoints.save(runDir, step, this, config);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + metrics + ": " + e.getMessage(), e);
        }
        return new Result(step, history, skipped);
    }

    /** The same shuffled order for the same (seed, epoch). */
    private List<Integer> epochOrder(int n, int epoch) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(config.seed() + 31L * epoch));
        return order;
    }

    /** Forward and backward of one micro-batch; returns its loss. Gradients accumulate (scaled by 1/accum). */
    private double microStep(List<TrainingSample> records, List<float[]> pixelRows) {
        try (PointerScope scope = new PointerScope()) {
            if (featureCache != null) {
                Tensor blocks = cachedBlocks(records);
                Batcher.Batch b = batcher.build(records);
                Tensor loss = lossFromBlocks(blocks, b);
                float value = Tensors.toFloats(loss)[0];
                loss.div(new org.bytedeco.pytorch.Scalar(config.accumGradIters())).backward();
                return value;
            }
            int size = model.config().vision().imageSize();
            float[] flat = new float[pixelRows.size() * 3 * size * size];
            for (int i = 0; i < pixelRows.size(); i++) {
                System.arraycopy(pixelRows.get(i), 0, flat, i * pixelRows.get(i).length, pixelRows.get(i).length);
            }
            Tensor pixels = Tensors.fromFloats(flat, pixelRows.size(), 3, size, size);
            Batcher.Batch b = batcher.build(records);
            Tensor loss = loss(pixels, b);
            float value = Tensors.toFloats(loss)[0];
            loss.div(new org.bytedeco.pytorch.Scalar(config.accumGradIters())).backward();
            return value;
        }
    }

    /** The ViT blocks' output for each record, from the cache or computed (eval transform) and stored. */
    private Tensor cachedBlocks(List<TrainingSample> records) {
        Tensor[] rows = new Tensor[records.size()];
        for (int i = 0; i < rows.length; i++) {
            String key = FeatureCache.imageKey(records.get(i).image());
            Tensor hit = featureCache.get(key, model.dtype(), model.device());
            if (hit == null) {
                float[] px = evalTransform.apply(ImageDecoder.decode(records.get(i).image()));
                int size = model.config().vision().imageSize();
                try (NoGradGuard noGrad = new NoGradGuard()) {
                    hit = model.vision().encodeBlocks(Tensors.fromFloats(px, 1, 3, size, size)).select(0, 0).detach();
                }
                featureCache.put(key, hit);
            }
            rows[i] = hit.unsqueeze(0);
        }
        return org.emovit.model.Ops.cat(0, rows);
    }

    /** The LM loss on a batch with the ViT under no-grad (frozen: its features need no graph). */
    public Tensor loss(Tensor pixels, Batcher.Batch b) {
        Tensor blocks;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            blocks = model.vision().encodeBlocks(pixels).detach();
        }
        return lossFromBlocks(blocks, b);
    }

    private Tensor lossFromBlocks(Tensor blocks, Batcher.Batch b) {
        Tensor features = model.vision().finalNorm(blocks);   // ln_vision is tuned, the blocks are not
        // Right-padded rows: the mask-derived positions equal 0..T-1 on every real token, as LAVIS's forward.
        PrefillInputs prefill = model.prefillInputs(features, b.inputs(null));
        Tensor hidden = model.languageModel().forward(prefill.inputsEmbeds(), prefill.attentionMask(), prefill.positionIds(), null);
        return InstructBlip.loss(model.languageModel().logits(hidden), b.labels());
    }
}
