package org.emovit.cli;

import org.emovit.options.ModelOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.emovit.core.ProgressBar;
import org.emovit.generate.EmbeddedModel;
import org.emovit.generate.InstructBlipProcessor;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;
import org.emovit.train.Batcher;
import org.emovit.train.Checkpoints;
import org.emovit.train.FeatureCache;
import org.emovit.train.InstructionSet;
import org.emovit.train.MicroBatchLoader;
import org.emovit.train.RunDirectory;
import org.emovit.train.TrainConfig;
import org.emovit.train.Trainer;
import org.emovit.train.TrainingPlot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** EmoVIT's visual instruction tuning. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Tune the Q-Former, query tokens, projection and ln_vision on an instruction set (ViT and LLM frozen).",
                "Writes OUT/metrics.jsonl, OUT/checkpoints/step-N (every --checkpoint-every steps, atomically), OUT/curve.png, "
                        + "and the tuned tensors as OUT/model_weights.pth ({\"model\": ...}, LAVIS names, usable with --overlay and by LAVIS) "
                        + "and OUT/model_weights.safetensors.",
                "--resume continues from the newest whole checkpoint to the same result as an uninterrupted run, with the config "
                        + "recorded in OUT/config.yaml (a different one is refused unless --allow-config-change).",
                "A new run into a directory that holds one is refused unless --overwrite."})
public final class TrainCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", required = true, paramLabel = "all.json", description = "Instruction set (JSON list or JSONL of LLaVA-style records).")
    Path data;

    @Option(names = "--images", required = true, paramLabel = "DIR", description = "Directory the records' image names resolve against.")
    Path images;

    @Option(names = "--out", required = true, paramLabel = "RUN_DIR")
    Path out;

    @Option(names = "--train-preset", defaultValue = "emovit-2025", description = "Training preset: emovit-2025 (FT.yaml now, default) or emovit-2024.")
    String trainPreset;

    @Option(names = "--train-config", paramLabel = "train.yaml", description = "YAML overriding the preset (our field names, or a LAVIS FT.yaml).")
    Path trainConfig;

    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after N optimizer steps (0: the whole schedule).")
    int maxSteps;

    @Option(names = "--feature-cache", paramLabel = "DIR",
            description = "Keep the frozen ViT's features per image here (default: RUN_DIR/feature-cache when augmentation is off; "
                    + "with augmentation on, only when given).")
    Path featureCache;

    @Option(names = "--no-feature-cache", description = "Never cache ViT features.")
    boolean noFeatureCache;

    @Option(names = "--val-data", paramLabel = "val.json",
            description = "Validation instruction set (same format, images under --images): loss and classification accuracy after each epoch.")
    Path valData;

    @Option(names = "--checkpoint-every", paramLabel = "N",
            description = "Write a checkpoint every N optimizer steps (and at the last); default: the training config's checkpointEvery (1000).")
    Integer checkpointEvery;

    @Option(names = "--resume", description = "Continue from the newest whole checkpoint in RUN_DIR, with the config it was started with.")
    boolean resume;

    @Option(names = "--allow-config-change",
            description = "With --resume: continue although the training config (batch size, seed, learning rates, ...) differs from "
                    + "RUN_DIR/config.yaml; the new one is recorded there. --max-steps and --checkpoint-every may always change.")
    boolean allowConfigChange;

    @Option(names = "--overwrite",
            description = "Start a new run in a RUN_DIR that holds one: its metrics, checkpoints, config and exports are deleted first "
                    + "(the feature cache, keyed by content, is kept).")
    boolean overwrite;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (maxSteps < 0) {
            throw new IllegalArgumentException("--max-steps must be 0 or more, got " + maxSteps);
        }
        if (checkpointEvery != null && checkpointEvery <= 0) {
            throw new IllegalArgumentException("--checkpoint-every must be a positive integer, got " + checkpointEvery);
        }
        if (allowConfigChange && !resume) {
            throw new IllegalArgumentException("--allow-config-change only applies with --resume");
        }
        if (overwrite && resume) {
            throw new IllegalArgumentException("--overwrite starts a new run and --resume continues one: give one of them");
        }
        TrainConfig config = TrainConfig.preset(trainPreset);
        if (trainConfig != null) {
            config = config.overriddenBy(trainConfig);
        }
        if (maxSteps > 0) {
            config = config.withMaxSteps(maxSteps);
        }
        if (checkpointEvery != null) {
            config = config.withCheckpointEvery(checkpointEvery);
        }
        config = config.validated(trainConfig != null ? "training config " + trainConfig : "training preset " + trainPreset);
        RunDirectory runDir = new RunDirectory(out);
        if (resume) {
            List<String> changed = runDir.continueWith(config, allowConfigChange, "--allow-config-change");
            if (!changed.isEmpty()) {
                err.println("resuming with a changed config (" + String.join("; ", changed) + "): the result will differ from an uninterrupted run");
            }
        } else {
            runDir.startFresh(config, overwrite, "--overwrite");
        }
        InstructionSet set = InstructionSet.read(data, images);
        if (!set.skipped().isEmpty()) {
            err.printf(Locale.ROOT, "%d record(s) skipped, e.g.: %s%n", set.skipped().size(), set.skipped().get(0));
        }
        if (set.records().isEmpty()) {
            throw new IllegalArgumentException("no usable records in " + data);
        }
        if (modelOptions.isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        // The tuned tensors stay float32 (master weights) while the frozen ViT and LLM compute in --dtype (bf16 halves their cost).
        try (InstructBlip model = InstructBlipLoader.load(modelOptions.source(), modelOptions.scalarType(), modelOptions.torchDevice(),
                Trainer::isTrainable, Trainer::isTrainable)) {
            InstructBlipProcessor processor = modelOptions.processor(model);
            Batcher batcher = new Batcher(model.config(), processor.qformerTokenizer(), processor.llmTokenizer(),
                    config.maxTxtLen(), config.maxOutputTxtLen());
            Trainer trainer = new Trainer(model, batcher, config, out);
            Path cacheDir = noFeatureCache ? null : featureCache != null ? featureCache : config.augment() ? null : out.resolve("feature-cache");
            if (cacheDir != null) {
                String key = FeatureCache.modelKey(model);   // the vision tower's content: an edited model never meets stale features
                trainer.withFeatureCache(new FeatureCache(cacheDir, key));
                err.println("ViT feature cache: " + cacheDir.resolve(key));
            }
            if (valData != null) {
                InstructionSet val = InstructionSet.read(valData, images);
                trainer.withValidation(new org.emovit.train.Validation(model, batcher, processor, val.records(), config.batchSize()),
                        v -> err.printf(Locale.ROOT, "%nepoch %d validation: loss %.4f, accuracy %.4f on %d categorical record(s)%n",
                                v.epoch(), v.loss(), v.accuracy(), v.classified()));
            }
            int start = 0;
            if (resume) {
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
            List<Trainer.StepMetrics> all = readHistory(out.resolve("metrics.jsonl"));
            TrainingPlot.write(all, out.resolve("curve.png"));
            o.printf(Locale.ROOT, "trained to step %d (%d sample(s) skipped as unreadable); wrote %s (model_weights.pth, model_weights.safetensors, curve.png)%n",
                    result.steps(), result.skippedSamples(), out);
        }
        return 0;
    }

    private static List<Trainer.StepMetrics> readHistory(Path metrics) throws Exception {
        List<Trainer.StepMetrics> out = new ArrayList<>();
        for (var n : org.emovit.core.JsonlFile.read(metrics).records()) {
            if (!n.has("val_loss")) {
                out.add(org.emovit.core.JsonlFile.mapper().treeToValue(n, Trainer.StepMetrics.class));
            }
        }
        return out;
    }
}
