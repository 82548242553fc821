package org.emovit.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run directory is never silently mixed with another run, nor resumed under another config. */
class RunDirectoryTest {

    static Path usedRun(Path dir) throws Exception {
        Files.createDirectories(dir.resolve("checkpoints/step-00000005"));
        Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\":1}\n");
        Files.writeString(dir.resolve("config.yaml"), TrainConfig.emovit2025().toYaml());
        Files.createDirectories(dir.resolve("feature-cache/eval224-float-00"));
        return dir;
    }

    @Test
    void aNewRunIntoAUsedDirectoryIsRefused(@TempDir Path dir) throws Exception {
        RunDirectory run = new RunDirectory(usedRun(dir));
        assertThatThrownBy(() -> run.startFresh(TrainConfig.emovit2024(), false, "--overwrite"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(dir + " holds a run (metrics.jsonl, checkpoints): use --resume to continue it, --overwrite to replace it, or another --out");
        assertThat(Files.readString(dir.resolve("metrics.jsonl"))).isEqualTo("{\"step\":1}\n");
        assertThat(TrainConfig.fromYaml(Files.readString(dir.resolve("config.yaml")))).isEqualTo(TrainConfig.emovit2025());
    }

    @Test
    void overwriteStartsAfreshButKeepsTheContentKeyedFeatureCache(@TempDir Path dir) throws Exception {
        RunDirectory run = new RunDirectory(usedRun(dir));
        run.startFresh(TrainConfig.emovit2024(), true, "--overwrite");
        assertThat(dir.resolve("metrics.jsonl")).doesNotExist();
        assertThat(dir.resolve("checkpoints")).doesNotExist();
        assertThat(dir.resolve("feature-cache/eval224-float-00")).isDirectory();
        assertThat(TrainConfig.fromYaml(Files.readString(dir.resolve("config.yaml")))).isEqualTo(TrainConfig.emovit2024());
        assertThat(run.runFiles()).isEmpty();
    }

    @Test
    void aDirectoryWithOnlyAConfigHoldsNothingToLose(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.yaml"), TrainConfig.emovit2025().toYaml());
        new RunDirectory(dir).startFresh(TrainConfig.emovit2024(), false, "--overwrite");
        assertThat(TrainConfig.fromYaml(Files.readString(dir.resolve("config.yaml")))).isEqualTo(TrainConfig.emovit2024());
    }

    @Test
    void resumingWithAChangedConfigIsRefusedNamingTheKeysUnlessAllowed(@TempDir Path dir) throws Exception {
        RunDirectory run = new RunDirectory(usedRun(dir));
        TrainConfig old = TrainConfig.emovit2025();
        TrainConfig changed = new TrainConfig(old.initLr(), old.minLr(), old.warmupLr(), old.warmupSteps(), old.weightDecay(), old.maxEpoch(), 2,
                old.accumGradIters(), 43, old.maxTxtLen(), old.maxOutputTxtLen(), old.clipGradNorm(), old.augment(), old.checkpointEvery(), 0);
        assertThatThrownBy(() -> run.continueWith(changed, false, "--allow-config-change"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("batchSize: 1 → 2").hasMessageContaining("seed: 42 → 43")
                .hasMessageContaining(dir.resolve("config.yaml").toString()).hasMessageContaining("--allow-config-change")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThat(TrainConfig.fromYaml(Files.readString(dir.resolve("config.yaml")))).as("config.yaml untouched").isEqualTo(old);

        assertThat(run.continueWith(old.withMaxSteps(50), false, "--allow-config-change")).as("a later stop is no change").isEmpty();
        assertThat(run.continueWith(changed, true, "--allow-config-change")).containsExactly("batchSize: 1 → 2", "seed: 42 → 43");
        assertThat(TrainConfig.fromYaml(Files.readString(dir.resolve("config.yaml")))).isEqualTo(changed);
    }

    @Test
    void resumingDropsTheMetricsOfStepsThatWillBeRedone(@TempDir Path dir) throws Exception {
        StringBuilder lines = new StringBuilder();
        for (int step = 1; step <= 7; step++) {
            lines.append("{\"step\":").append(step).append(",\"loss\":1.0}\n");
            if (step == 5 || step == 7) {
                lines.append("{\"step\":").append(step).append(",\"val_loss\":2.0}\n");
            }
        }
        Files.writeString(dir.resolve("metrics.jsonl"), lines);
        RunDirectory run = new RunDirectory(dir);
        assertThat(run.keepMetricsUpTo(5)).isEqualTo(3);
        assertThat(Files.readAllLines(dir.resolve("metrics.jsonl"))).hasSize(6).last().asString().contains("\"step\":5").contains("val_loss");
        assertThat(run.keepMetricsUpTo(5)).isZero();
        assertThat(new RunDirectory(dir.resolve("none")).keepMetricsUpTo(0)).isZero();
    }
}
