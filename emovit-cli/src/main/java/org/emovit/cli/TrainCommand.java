package org.emovit.cli;

import org.emovit.options.ModelOptions;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.emovit.train.TrainingRun;
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
        TrainingRun.Outcome r = TrainingRun.run(new TrainingRun.Settings(modelOptions.spec(), data, images, out, trainPreset, trainConfig,
                maxSteps, checkpointEvery, featureCache, noFeatureCache, valData, resume, allowConfigChange, overwrite),
                spec.commandLine().getErr());
        spec.commandLine().getOut().printf(Locale.ROOT,
                "trained to step %d (%d sample(s) skipped as unreadable); wrote %s (model_weights.pth, model_weights.safetensors, curve.png)%n",
                r.steps(), r.skippedSamples(), out);
        return 0;
    }
}
