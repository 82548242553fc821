package org.emovit.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LrScheduleTest {

    @Test
    void warmsUpLinearlyInTheFirstEpochThenFollowsTheCosinePerEpoch() {
        LrSchedule s = LrSchedule.of(TrainConfig.emovit2024());   // init 8e-6, min 0, warm-up 1e-8 over 1000 steps, 4 epochs
        assertThat(s.lr(0, 0)).isCloseTo(1e-8, within(1e-15));
        assertThat(s.lr(0, 500)).isCloseTo(1e-8 + (8e-6 - 1e-8) * 0.5, within(1e-15));
        assertThat(s.lr(0, 5000)).isCloseTo(8e-6, within(1e-15));
        assertThat(s.lr(1, 0)).isCloseTo(8e-6 * 0.5 * (1 + Math.cos(Math.PI / 4)), within(1e-15));
        assertThat(s.lr(2, 7)).isCloseTo(4e-6, within(1e-15));
        assertThat(s.lr(4, 0)).isZero();
        assertThat(s.lr(9, 0)).isZero();
    }

    @Test
    void presetsAndLavisYaml(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        TrainConfig now = TrainConfig.emovit2025();
        assertThat(now.initLr()).isEqualTo(1e-5);
        assertThat(now.warmupSteps()).isEqualTo(30000);
        assertThat(now.weightDecay()).isEqualTo(0.005);
        java.nio.file.Path yaml = dir.resolve("FT.yaml");
        java.nio.file.Files.writeString(yaml, "model:\n  arch: blip2_vicuna_instruct\nrun:\n  init_lr: 8e-6\n  min_lr: 0\n  warmup_steps: 1000\n"
                + "  weight_decay: 5e-5\n  max_epoch: 4\n  batch_size_train: 1\n  accum_grad_iters: 1\n  seed: 42\n  amp: True\n");
        TrainConfig read = now.overriddenBy(yaml);
        assertThat(read).isEqualTo(TrainConfig.emovit2024());
        assertThat(TrainConfig.fromYaml(read.toYaml())).isEqualTo(read);
    }
}
