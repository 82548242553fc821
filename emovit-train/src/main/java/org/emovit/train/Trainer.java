package org.emovit.train;

import java.io.IOException;
import org.emovit.model.Owned;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.emovit.core.JsonlFile;
import org.emovit.model.InstructBlip;
import org.emovit.model.Tensors;

/**
 * EmoVIT's visual instruction tuning: the ViT and the LLM stay frozen; the Q-Former (with its embeddings), the
 * query tokens, the projection and ln_vision learn from the LM loss on the answer tokens, with AdamW (no weight
 * decay on 1-D tensors, as LAVIS groups them) and LAVIS's warm-up + cosine schedule. This class is the step loop
 * only: the data comes from {@link MicroBatchLoader}, the loss from {@link TrainingLoss}, and checkpoints and
 * validation take the {@link TunedState} and the model, never the trainer. Every random choice derives from
 * (seed, epoch, sample), so a run resumed from a checkpoint continues exactly as if it had not stopped.
 */
public final class Trainer {

    /** One optimizer step's record (also a line of metrics.jsonl). */
    public record StepMetrics(int step, int epoch, double loss, double lr, double samplesPerSecond) {}

    /** A validation's line of metrics.jsonl. */
    public record ValidationMetrics(int step, int epoch, double val_loss, double val_accuracy, int val_classified) {}

    public record Result(int steps, List<StepMetrics> history, int skippedSamples) {}

    private final InstructBlip model;
    private final Batcher batcher;
    private final TrainConfig config;
    private final Path runDir;
    private final TunedState tuned;
    private final TrainingLoss loss;
    private FeatureCache featureCache;
    private Validation validation;
    private Consumer<Validation.Result> onValidation;

    /** The tensors EmoVIT tunes (HF names): everything but the ViT's blocks and the LLM. */
    public static boolean isTrainable(String key) {
        return TunedState.isTrainable(key);
    }

    public Trainer(InstructBlip model, Batcher batcher, TrainConfig config, Path runDir) {
        this.model = model;
        this.batcher = batcher;
        this.config = config.validated("training config");
        this.runDir = runDir;
        this.tuned = TunedState.of(model, this.config);
        this.loss = new TrainingLoss(model);
    }

    /** Ends training; see {@link TunedState#freeze()}. */
    public void freeze() {
        tuned.freeze();
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

    /** The tuned tensors and the optimizer: what checkpoints save and restore. */
    public TunedState tuned() {
        return tuned;
    }

    public Map<String, Tensor> trainable() {
        return tuned.tensors();
    }

    public AdamW optimizer() {
        return tuned.optimizer();
    }

    /** The step a run over these records ends at: config.maxSteps(), or the whole schedule. */
    public static int totalSteps(TrainConfig config, int stepsPerEpoch) {
        return config.maxSteps() > 0 ? config.maxSteps() : stepsPerEpoch * config.maxEpoch();
    }

    /**
     * Trains from the given step (0, or a checkpoint's) to the end of the schedule or config.maxSteps().
     *
     * @param onStep called after each optimizer step (progress display)
     */
    public Result run(List<TrainingSample> records, int startStep, Consumer<StepMetrics> onStep) {
        MicroBatchLoader loader = new MicroBatchLoader(model, batcher, config, featureCache, records);
        int stepsPerEpoch = loader.stepsPerEpoch();
        int totalSteps = totalSteps(config, stepsPerEpoch);
        LrSchedule schedule = LrSchedule.of(config);
        List<StepMetrics> history = new ArrayList<>();
        int skipped = 0;
        int step = startStep;
        Path metrics = runDir.resolve("metrics.jsonl");
        try (JsonlFile log = JsonlFile.open(metrics)) {
            while (step < totalSteps) {
                int epoch = step / stepsPerEpoch, inEpoch = step % stepsPerEpoch;
                double lr = schedule.lr(epoch, inEpoch);
                OptimizerParamGroupVector groups = tuned.optimizer().param_groups();
                for (long g = 0; g < groups.size(); g++) {
                    groups.get(g).options().set_lr(lr);
                }
                long started = System.nanoTime();
                double lossSum = 0;
                int samples = 0;
                for (int micro = 0; micro < config.accumGradIters(); micro++) {
                    try (Owned.Scope scope = Owned.scope()) {
                        MicroBatchLoader.MicroBatch mb = loader.load(epoch, inEpoch, micro);
                        skipped += mb.skipped();
                        if (mb.isEmpty()) {
                            continue;
                        }
                        lossSum += backward(loss.fromBlocks(mb.blocks(), mb.batch()));
                        samples += mb.samples().size();
                    }
                }
                if (config.clipGradNorm() > 0) {
                    torch.clip_grad_norm_(new TensorVector(tuned.tensors().values().toArray(new Tensor[0])), config.clipGradNorm());
                }
                tuned.optimizer().step();
                tuned.optimizer().zero_grad();
                step++;
                double seconds = (System.nanoTime() - started) / 1e9;
                StepMetrics m = new StepMetrics(step, epoch, lossSum / config.accumGradIters(), lr, samples / Math.max(seconds, 1e-9));
                history.add(m);
                log.append(m);
                if (onStep != null) {
                    onStep.accept(m);
                }
                if (validation != null && (step % stepsPerEpoch == 0 || step == totalSteps)) {
                    Validation.Result v = validation.run(epoch);
                    log.append(new ValidationMetrics(step, epoch, v.loss(), v.accuracy(), v.classified()));
                    if (onValidation != null) {
                        onValidation.accept(v);
                    }
                }
                if (step % config.checkpointEvery() == 0 || step == totalSteps) {
                    Checkpoints.save(runDir, step, tuned, config);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + metrics + ": " + e.getMessage(), e);
        }
        return new Result(step, history, skipped);
    }

    /** Backward of one micro-batch's loss (scaled by 1/accum: gradients accumulate); returns the unscaled loss. */
    private double backward(Tensor microLoss) {
        float value = Tensors.toFloats(microLoss)[0];
        microLoss.div(new Scalar(config.accumGradIters())).backward();
        return value;
    }
}
