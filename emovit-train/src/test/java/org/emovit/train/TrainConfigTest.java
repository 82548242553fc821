package org.emovit.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A training config that would be misread or would fail mid-run is refused when read, naming the key and the file. */
class TrainConfigTest {

    static Path yaml(Path dir, String text) throws Exception {
        Path f = dir.resolve("train.yaml");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void anUnknownKeyIsRejectedWithTheFileAndTheClosestKnownOne(@TempDir Path dir) throws Exception {
        Path ours = yaml(dir, "batch_size: 4\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(ours))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown key 'batch_size'").hasMessageContaining(ours.toString())
                .hasMessageContaining("did you mean 'batch_size_train'").hasMessageContaining("batchSize");
        Path lavis = yaml(dir, "model:\n  arch: blip2_vicuna_instruct\nrun:\n  init_lr: 1e-5\n  warmup_step: 10\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(lavis))
                .hasMessageContaining("unknown key 'warmup_step' in run:").hasMessageContaining("did you mean 'warmup_steps'");
        Path camel = yaml(dir, "initLR: 0.1\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(camel)).hasMessageContaining("did you mean 'initLr'");
    }

    @Test
    void lavisRunnerKeysAreAcceptedButAnotherScheduleIsNot(@TempDir Path dir) throws Exception {
        Path ok = yaml(dir, "run:\n  task: image_text_pretrain\n  lr_sched: linear_warmup_cosine_lr\n  batch_size_eval: 2\n  num_workers: 4\n"
                + "  output_dir: out\n  distributed: true\n  batch_size_train: 2\n");
        assertThat(TrainConfig.emovit2025().overriddenBy(ok).batchSize()).isEqualTo(2);
        Path step = yaml(dir, "run:\n  lr_sched: step_lr\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(step)).hasMessageContaining("lr_sched 'step_lr'");
    }

    @Test
    void nonPositiveSizesAndRatesAreRejectedNamingTheKeyAsWrittenAndTheFile(@TempDir Path dir) throws Exception {
        Path zero = yaml(dir, "batchSize: 0\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(zero))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("training config " + zero + ": batchSize must be a positive integer, got 0");
        Path lavis = yaml(dir, "run:\n  batch_size_train: 0\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(lavis)).hasMessageContaining("batch_size_train must be a positive integer");
        Path lr = yaml(dir, "run:\n  init_lr: 0\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(lr)).hasMessageContaining("init_lr must be a positive number");
        Path accum = yaml(dir, "accumGradIters: -2\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(accum)).hasMessageContaining("accumGradIters must be a positive integer, got -2");
        Path every = yaml(dir, "checkpointEvery: 0\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(every)).hasMessageContaining("checkpointEvery");
        Path decay = yaml(dir, "weight_decay: -0.5\n");
        assertThatThrownBy(() -> TrainConfig.emovit2025().overriddenBy(decay)).hasMessageContaining("weight_decay must be 0 or more, got -0.5");
    }

    @Test
    void aConfigBuiltInCodeIsValidatedToo() {
        TrainConfig zero = new TrainConfig(1e-5, 0, 0, 1, 0, 1, 0, 1, 42, 128, 256, 0, false, 10, 0);
        assertThatThrownBy(() -> zero.validated("training config")).hasMessage("training config: batchSize must be a positive integer, got 0");
        assertThat(TrainConfig.emovit2025().validated("x")).isEqualTo(TrainConfig.emovit2025());
    }

    @Test
    void differencesNameEachChangedKeyWithOldAndNewButNotWhereTheRunStops() {
        TrainConfig old = TrainConfig.emovit2025();
        TrainConfig changed = new TrainConfig(2e-5, old.minLr(), old.warmupLr(), old.warmupSteps(), old.weightDecay(), old.maxEpoch(), 4,
                old.accumGradIters(), 7, old.maxTxtLen(), old.maxOutputTxtLen(), old.clipGradNorm(), old.augment(), 5, 100);
        assertThat(changed.differencesFrom(old)).containsExactly("initLr: 1.0E-5 → 2.0E-5", "batchSize: 1 → 4", "seed: 42 → 7");
        assertThat(old.withMaxSteps(9).withCheckpointEvery(3).differencesFrom(old)).isEmpty();
    }
}
