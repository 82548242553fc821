package org.emovit.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.emovit.core.Emotion;

/**
 * Classification metrics over the 8 emotions: accuracy, per-class precision / recall / F1 / support, macro-F1
 * (the mean of the 8 F1s), and the confusion matrix gold x predicted with a last "other" column for answers
 * outside the 8 (generate mode). Items that failed are not counted, only reported.
 */
public final class Metrics {
    public static final String OTHER = "other";

    private final long[][] confusion = new long[8][9];
    private long failed;

    private Metrics() {}

    public static Metrics of(List<Prediction> predictions) {
        Metrics m = new Metrics();
        for (Prediction p : predictions) {
            if (p.error() != null) {
                m.failed++;
                continue;
            }
            Emotion gold = Emotion.fromLabel(p.gold()).orElse(null);
            if (gold == null) {
                continue;
            }
            int column = Emotion.fromLabel(p.predicted()).map(Enum::ordinal).orElse(8);
            m.confusion[gold.ordinal()][column]++;
        }
        return m;
    }

    public long total() {
        long t = 0;
        for (long[] row : confusion) {
            for (long v : row) {
                t += v;
            }
        }
        return t;
    }

    public long correct() {
        long c = 0;
        for (int i = 0; i < 8; i++) {
            c += confusion[i][i];
        }
        return c;
    }

    public long failed() {
        return failed;
    }

    public double accuracy() {
        return total() == 0 ? 0 : (double) correct() / total();
    }

    public long support(Emotion e) {
        long s = 0;
        for (long v : confusion[e.ordinal()]) {
            s += v;
        }
        return s;
    }

    public double precision(Emotion e) {
        long predicted = 0;
        for (int r = 0; r < 8; r++) {
            predicted += confusion[r][e.ordinal()];
        }
        return predicted == 0 ? 0 : (double) confusion[e.ordinal()][e.ordinal()] / predicted;
    }

    public double recall(Emotion e) {
        long s = support(e);
        return s == 0 ? 0 : (double) confusion[e.ordinal()][e.ordinal()] / s;
    }

    public double f1(Emotion e) {
        double p = precision(e), r = recall(e);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    public double macroF1() {
        double sum = 0;
        for (Emotion e : Emotion.values()) {
            sum += f1(e);
        }
        return sum / 8;
    }

    /** confusion[gold][predicted], predicted index 8 = "other". */
    public long count(Emotion gold, int predictedColumn) {
        return confusion[gold.ordinal()][predictedColumn];
    }

    public String toTable() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "accuracy %.4f (%d/%d)   macro-F1 %.4f%s%n", accuracy(), correct(), total(), macroF1(),
                failed > 0 ? "   (" + failed + " failed, not counted)" : ""));
        b.append(String.format(Locale.ROOT, "%n%-12s %9s %9s %9s %8s%n", "class", "precision", "recall", "F1", "support"));
        for (Emotion e : Emotion.values()) {
            b.append(String.format(Locale.ROOT, "%-12s %9.4f %9.4f %9.4f %8d%n", e.label(), precision(e), recall(e), f1(e), support(e)));
        }
        b.append(String.format(Locale.ROOT, "%nconfusion (rows: gold, columns: predicted)%n%-12s", ""));
        for (Emotion e : Emotion.values()) {
            b.append(String.format(Locale.ROOT, " %6.6s", e.label()));
        }
        b.append(String.format(Locale.ROOT, " %6s%n", OTHER));
        for (Emotion g : Emotion.values()) {
            b.append(String.format(Locale.ROOT, "%-12s", g.label()));
            for (int c = 0; c < 9; c++) {
                b.append(String.format(Locale.ROOT, " %6d", confusion[g.ordinal()][c]));
            }
            b.append(System.lineSeparator());
        }
        return b.toString();
    }

    public void writeCsv(Path confusionCsv) {
        StringBuilder b = new StringBuilder("gold\\predicted");
        for (String l : Emotion.labels()) {
            b.append(',').append(l);
        }
        b.append(',').append(OTHER).append('\n');
        for (Emotion g : Emotion.values()) {
            b.append(g.label());
            for (int c = 0; c < 9; c++) {
                b.append(',').append(confusion[g.ordinal()][c]);
            }
            b.append('\n');
        }
        write(confusionCsv, b.toString());
    }

    public void writeJson(Path metricsJson) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("accuracy", accuracy());
        n.put("macro_f1", macroF1());
        n.put("total", total());
        n.put("correct", correct());
        n.put("failed", failed);
        ObjectNode per = n.putObject("per_class");
        for (Emotion e : Emotion.values()) {
            ObjectNode c = per.putObject(e.label());
            c.put("precision", precision(e));
            c.put("recall", recall(e));
            c.put("f1", f1(e));
            c.put("support", support(e));
        }
        ObjectNode conf = n.putObject("confusion");
        ArrayNode cols = conf.putArray("columns");
        Emotion.labels().forEach(cols::add);
        cols.add(OTHER);
        ArrayNode rows = conf.putArray("rows");
        for (Emotion g : Emotion.values()) {
            ArrayNode r = rows.addArray();
            for (int c = 0; c < 9; c++) {
                r.add(confusion[g.ordinal()][c]);
            }
        }
        try {
            write(metricsJson, json.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
