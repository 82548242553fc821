package org.emovit.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.emovit.core.Emotion;

/** The confusion matrix as a picture: counts in cells, shaded by the share of the gold row. */
public final class ConfusionMatrixPlot {
    private static final int CELL = 64, LEFT = 120, TOP = 120, COLS = 9;

    private ConfusionMatrixPlot() {}

    private static String column(int c) {
        return c < 8 ? Emotion.values()[c].label() : Metrics.OTHER;
    }

    private static double share(Metrics m, Emotion g, int c) {
        long s = m.support(g);
        return s == 0 ? 0 : (double) m.count(g, c) / s;
    }

    /** White to dark blue with the share. */
    private static Color shade(double share) {
        int v = (int) Math.round(255 - 200 * share);
        return new Color(v, v, 255 - (int) Math.round(90 * share));
    }

    public static void writePng(Metrics m, Path png) {
        System.setProperty("java.awt.headless", "true");
        int w = LEFT + CELL * COLS + 20, h = TOP + CELL * 8 + 40;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(Color.BLACK);
        g.drawString(String.format(Locale.ROOT, "accuracy %.3f  macro-F1 %.3f  (rows: gold, columns: predicted)", m.accuracy(), m.macroF1()), 10, 18);
        for (Emotion gold : Emotion.values()) {
            int y = TOP + gold.ordinal() * CELL;
            g.setColor(Color.BLACK);
            g.drawString(gold.label(), 10, y + CELL / 2 + 4);
            for (int c = 0; c < COLS; c++) {
                int x = LEFT + c * CELL;
                double s = share(m, gold, c);
                g.setColor(shade(s));
                g.fillRect(x, y, CELL, CELL);
                g.setColor(s > 0.5 ? Color.WHITE : Color.BLACK);
                String count = Long.toString(m.count(gold, c));
                g.drawString(count, x + CELL / 2 - g.getFontMetrics().stringWidth(count) / 2, y + CELL / 2 + 4);
            }
        }
        g.setColor(Color.BLACK);
        AffineTransform original = g.getTransform();
        for (int c = 0; c < COLS; c++) {
            g.setTransform(original);
            g.translate(LEFT + c * CELL + CELL / 2 + 4, TOP - 8);
            g.rotate(-Math.PI / 4);
            g.drawString(column(c), 0, 0);
        }
        g.setTransform(original);
        g.setStroke(new BasicStroke(1));
        g.setColor(Color.GRAY);
        g.drawRect(LEFT, TOP, CELL * COLS, CELL * 8);
        g.dispose();
        try {
            ImageIO.write(img, "png", png.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
        }
    }

    public static void writeSvg(Metrics m, Path svg) {
        int w = LEFT + CELL * COLS + 20, h = TOP + CELL * 8 + 40;
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n", w, h));
        b.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, h));
        b.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"18\">accuracy %.3f, macro-F1 %.3f (rows: gold, columns: predicted)</text>%n",
                m.accuracy(), m.macroF1()));
        for (int c = 0; c < COLS; c++) {
            int x = LEFT + c * CELL + CELL / 2;
            b.append(String.format(Locale.ROOT, "<text transform=\"translate(%d,%d) rotate(-45)\">%s</text>%n", x, TOP - 8, column(c)));
        }
        for (Emotion gold : Emotion.values()) {
            int y = TOP + gold.ordinal() * CELL;
            b.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s</text>%n", y + CELL / 2 + 4, gold.label()));
            for (int c = 0; c < COLS; c++) {
                int x = LEFT + c * CELL;
                double s = share(m, gold, c);
                Color col = shade(s);
                b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" stroke=\"#ddd\"/>%n",
                        x, y, CELL, CELL, col.getRed(), col.getGreen(), col.getBlue()));
                b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%d</text>%n",
                        x + CELL / 2, y + CELL / 2 + 4, s > 0.5 ? "white" : "black", m.count(gold, c)));
            }
        }
        b.append("</svg>\n");
        try {
            Files.writeString(svg, b.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + svg + ": " + e.getMessage(), e);
        }
    }
}
