package org.emovit.train;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.emovit.core.ProgressBar;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.InstructBlipProcessor;
import org.emovit.api.ModelSpec;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;

/**
 * One training run, whatever front door starts it ({@code emovit train} only parses its options into
 * {@link Settings}): the settings checked, the run directory started or resumed (its config compared), the
 * instruction set read, the model loaded with the tuned tensors in float32, the ViT feature cache and validation set
 * up, the steps run with a progress bar, and the overlay, the metrics and the loss curve written.
 */
public final class TrainingRun {
    private TrainingRun() {}

    /**
     * What a run needs; the names are the command's options.
     *
     * @param checkpointEvery null: the training config's
     * @param featureCache    null: {@code out/feature-cache} (none when augmenting or with {@code noFeatureCache})
     * @param valData         null: no validation
     */
    public record Settings(ModelSpec model, Path data, Path images, Path out, String trainPreset, Path trainConfig, int maxSteps,
                           Integer checkpointEvery, Path featureCache, boolean noFeatureCache, Path valData, boolean resume,
                           boolean allowConfigChange, boolean overwrite) {}

    /** What the run did. */
    public record Outcome(int steps, int skippedSamples) {}

    /** Runs it; progress and notices go to {@code err}. */
    public static Outcome run(Settings s, PrintWriter err) throws Exception {
        if (s.maxSteps() < 0) {
            throw new IllegalArgumentException("--max-steps must be 0 or more, got " + s.maxSteps());
        }
        if (s.checkpointEvery() != null && s.checkpointEvery() <= 0) {
            throw new IllegalArgumentException("--checkpoint-every must be a positive integer, got " + s.checkpointEvery());
        }
        if (s.allowConfigChange() && !s.resume()) {
            throw new IllegalArgumentException("--allow-config-change only applies with --resume");
        }
        if (s.overwrite() && s.resume()) {
            throw new IllegalArgumentException("--overwrite starts a new run and --resume continues one: give one of them");
        }
        Path out = s.out();
        TrainConfig config = TrainConfig.preset(s.trainPreset());
        if (s.trainConfig() != null) {
            config = config.overriddenBy(s.trainConfig());
        }
        if (s.maxSteps() > 0) {
            config = config.withMaxSteps(s.maxSteps());
        }
        if (s.checkpointEvery() != null) {
            config = config.withCheckpointEvery(s.checkpointEvery());
        }
        config = config.validated(s.trainConfig() != null ? "training config " + s.trainConfig() : "training preset " + s.trainPreset());
        RunDirectory runDir = new RunDirectory(out);
        if (s.resume()) {
            List<String> changed = runDir.continueWith(config, s.allowConfigChange(), "--allow-config-change");
            if (!changed.isEmpty()) {
                err.println("resuming with a changed config (" + String.join("; ", changed) + "): the result will differ from an uninterrupted run");
            }
        } else {
            runDir.startFresh(config, s.overwrite(), "--overwrite");
        }
        InstructionSet set = InstructionSet.read(s.data(), s.images());
        if (!set.skipped().isEmpty()) {
            err.printf(Locale.ROOT, "%d record(s) skipped, e.g.: %s%n", set.skipped().size(), set.skipped().get(0));
        }
        if (set.records().isEmpty()) {
            throw new IllegalArgumentException("no usable records in " + s.data());
        }
        ModelSpec spec = s.model();
        if (spec.isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        // The tuned tensors stay float32 (master weights) while the frozen ViT and LLM compute in --dtype (bf16 halves their cost).
        try (InstructBlip model = InstructBlipLoader.load(spec.source(), spec.scalarType(), spec.torchDevice(),
                Trainer::isTrainable, Trainer::isTrainable)) {
            InstructBlipProcessor processor = spec.processor(model);
            Batcher batcher = new Batcher(model.config(), processor.qformerTokenizer(), processor.llmTokenizer(),
                    config.maxTxtLen(), config.maxOutputTxtLen());
            Trainer trainer = new Trainer(model, batcher, config, out);
            Path cacheDir = s.noFeatureCache() ? null : s.featureCache() != null ? s.featureCache()
                    : config.augment() ? null : out.resolve("feature-cache");
            if (cacheDir != null) {
                String key = FeatureCache.modelKey(model);   // the vision tower's content: an edited model never meets stale features
                trainer.withFeatureCache(new FeatureCache(cacheDir, key));
                err.println("ViT feature cache: " + cacheDir.resolve(key));
            }
            if (s.valData() != null) {
                InstructionSet val = InstructionSet.read(s.valData(), s.images());
                trainer.withValidation(new Validation(model, batcher, processor, val.records(), config.batchSize()),
                        v -> err.printf(Locale.ROOT, "%nepoch %d validation: loss %.4f, accuracy %.4f on %d categorical record(s)%n",
                                v.epoch(), v.loss(), v.accuracy(), v.classified()));
            }
            int start = 0;
            if (s.resume()) {
                List<String> problems = new ArrayList<>();
                Optional<Checkpoints.Loaded> ck = Checkpoints.latestValid(out, problems);
                problems.forEach(err::println);
                if (ck.isPresent()) {
                    Checkpoints.restore(ck.get(), trainer.tuned());
                    start = ck.get().step();
                    err.printf(Locale.ROOT, "resuming from %s (step %d)%n", ck.get().dir(), start);
                } else {
                    err.println("no checkpoint to resume from in " + out + ": starting at step 0");
                }
                int dropped = runDir.keepMetricsUpTo(start);
                if (dropped > 0) {
                    err.printf(Locale.ROOT, "dropped %d metrics line(s) after step %d: those steps are trained again%n", dropped, start);
                }
            }
            int total = Trainer.totalSteps(config, MicroBatchLoader.stepsPerEpoch(set.records().size(), config));
            Trainer.Result result;
            try (ProgressBar progress = new ProgressBar("train", total - start, System.err)) {
                result = trainer.run(set.records(), start, m -> {
                    progress.step(false);
                    if (m.step() % 50 == 0 || m.step() == total) {
                        err.printf(Locale.ROOT, "%nstep %d  loss %.4f  lr %.3g  %.2f samples/s%n", m.step(), m.loss(), m.lr(), m.samplesPerSecond());
                    }
                });
            }
            trainer.freeze();
            Checkpoints.exportOverlay(trainer.tuned().tensors(), out.resolve("model_weights.pth"), out.resolve("model_weights.safetensors"));
            TrainingPlot.write(history(out.resolve("metrics.jsonl")), out.resolve("curve.png"));
            return new Outcome(result.steps(), result.skippedSamples());
        }
    }

    /** The training steps' metrics of a run (validation lines left out). */
    private static List<Trainer.StepMetrics> history(Path metrics) throws Exception {
        List<Trainer.StepMetrics> out = new ArrayList<>();
        for (var n : org.emovit.core.JsonlFile.read(metrics).records()) {
            if (!n.has("val_loss")) {
                out.add(org.emovit.core.JsonlFile.mapper().treeToValue(n, Trainer.StepMetrics.class));
            }
        }
        return out;
    }
}
