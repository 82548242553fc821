package org.emovit.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The four reports of an evaluation, written the one way {@code emovit eval} and {@code emovit spark eval} write them. */
public final class EvaluationReports {
    /** Their file names, in the order written. */
    public static final List<String> FILES = List.of("metrics.json", "confusion.csv", "confusion.png", "confusion.svg");

    private EvaluationReports() {
    }

    /** Writes the metrics and the confusion matrix (table, picture, vector picture) into {@code dir}. */
    public static void write(Metrics metrics, Path dir) throws IOException {
        Files.createDirectories(dir);
        metrics.writeJson(dir.resolve(FILES.get(0)));
        metrics.writeCsv(dir.resolve(FILES.get(1)));
        ConfusionMatrixPlot.writePng(metrics, dir.resolve(FILES.get(2)));
        ConfusionMatrixPlot.writeSvg(metrics, dir.resolve(FILES.get(3)));
    }
}
