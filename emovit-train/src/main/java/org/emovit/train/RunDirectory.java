package org.emovit.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.emovit.core.AtomicFiles;
import org.emovit.core.JsonlFile;

/**
 * A training run's directory and the rules for reusing one: a new run never lands on top of an old one (its
 * metrics would be appended to and its checkpoints resumed from by mistake), and a resumed run continues with
 * the config it was started with. Both can be overridden, explicitly.
 */
public final class RunDirectory {
    public static final String CONFIG = "config.yaml";
    /** What a run writes; the feature cache is not among them: it is keyed by content and safe to share. */
    private static final List<String> RUN_FILES = List.of("metrics.jsonl", "checkpoints", CONFIG, "curve.png", "model_weights.pth",
            "model_weights.safetensors");

    private final Path dir;

    public RunDirectory(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /**
     * The run's results present, e.g. [metrics.jsonl, checkpoints]; empty for a new directory or one whose run
     * stopped before its first step (a config.yaml alone holds nothing to lose).
     */
    public List<String> runFiles() {
        return RUN_FILES.stream().filter(f -> !f.equals(CONFIG) && Files.exists(dir.resolve(f))).toList();
    }

    /**
     * Prepares a new run: a directory that holds one is refused, or with overwrite has that run's files deleted
     * first; then the config is recorded.
     */
    public void startFresh(TrainConfig config, boolean overwrite, String overwriteFlag) {
        List<String> present = runFiles();
        if (!present.isEmpty() && !overwrite) {
            throw new IllegalArgumentException(dir + " holds a run (" + String.join(", ", present) + "): use --resume to continue it, "
                    + overwriteFlag + " to replace it, or another --out");
        }
        try {
            for (String f : RUN_FILES) {
                deleteTree(dir.resolve(f));
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear the run in " + dir + ": " + e.getMessage(), e);
        }
        record(config);
    }

    /**
     * Prepares to continue the run: its recorded config must match the new one in everything but where it stops
     * and how often it saves, unless allowChange; then the new config is recorded.
     *
     * @return the differences that were allowed (empty when none)
     */
    public List<String> continueWith(TrainConfig config, boolean allowChange, String allowFlag) {
        Path recorded = dir.resolve(CONFIG);
        List<String> differences = new ArrayList<>();
        if (Files.isRegularFile(recorded)) {
            TrainConfig old;
            try {
                old = TrainConfig.fromYaml(Files.readString(recorded));
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot read the run's config " + recorded + ": " + e.getMessage(), e);
            }
            differences = config.differencesFrom(old);
            if (!differences.isEmpty() && !allowChange) {
                throw new IllegalArgumentException("the training config differs from the run's " + recorded + " ("
                        + String.join("; ", differences) + "): resume with the same settings, or pass " + allowFlag + " to change them");
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        record(config);
        return differences;
    }

    /**
     * Drops the metrics of steps after the one a resumed run continues from: they were logged by the leg that
     * stopped (after its last whole checkpoint) and are logged again as the steps are redone, so keeping them
     * would give those steps two lines each.
     *
     * @return how many lines were dropped
     */
    public int keepMetricsUpTo(int step) {
        Path metrics = dir.resolve("metrics.jsonl");
        try {
            List<JsonNode> lines = JsonlFile.read(metrics).records();
            List<JsonNode> kept = lines.stream().filter(n -> n.path("step").asInt(Integer.MAX_VALUE) <= step).toList();
            if (kept.size() != lines.size()) {
                JsonlFile.rewrite(metrics, kept);
            }
            return lines.size() - kept.size();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rewrite " + metrics + ": " + e.getMessage(), e);
        }
    }

    private void record(TrainConfig config) {
        Path file = dir.resolve(CONFIG);
        try {
            AtomicFiles.writeString(file, config.toYaml());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
