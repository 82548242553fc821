package org.emovit.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/** The loss (blue, left scale) and learning rate (orange, right scale) over the optimizer steps, as a PNG. */
public final class TrainingPlot {
    private TrainingPlot() {}

    public static void write(List<Trainer.StepMetrics> history, Path png) {
        System.setProperty("java.awt.headless", "true");
        int w = 900, h = 420, left = 70, right = 80, top = 30, bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(Color.GRAY);
        g.drawRect(left, top, w - left - right, h - top - bottom);
        if (!history.isEmpty()) {
            int firstStep = history.get(0).step(), lastStep = history.get(history.size() - 1).step();
            curve(g, history, Trainer.StepMetrics::loss, new Color(31, 119, 180), left, top, w - left - right, h - top - bottom,
                    firstStep, lastStep, true, w);
            curve(g, history, Trainer.StepMetrics::lr, new Color(255, 127, 14), left, top, w - left - right, h - top - bottom,
                    firstStep, lastStep, false, w);
            g.setColor(Color.BLACK);
            g.drawString("step " + firstStep, left, h - bottom + 18);
            String end = "step " + lastStep;
            g.drawString(end, w - right - g.getFontMetrics().stringWidth(end), h - bottom + 18);
        }
        g.setColor(Color.BLACK);
        g.drawString("training loss (blue, left) and learning rate (orange, right)", left, 18);
        g.dispose();
        try {
            ImageIO.write(img, "png", png.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
        }
    }

    private static void curve(Graphics2D g, List<Trainer.StepMetrics> history, ToDoubleFunction<Trainer.StepMetrics> value,
                              Color color, int x0, int y0, int width, int height, int firstStep, int lastStep, boolean leftAxis, int w) {
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (Trainer.StepMetrics m : history) {
            min = Math.min(min, value.applyAsDouble(m));
            max = Math.max(max, value.applyAsDouble(m));
        }
        if (max == min) {
            max = min + (min == 0 ? 1 : Math.abs(min) * 0.1);
        }
        g.setColor(color);
        g.setStroke(new BasicStroke(1.5f));
        int px = -1, py = -1;
        for (Trainer.StepMetrics m : history) {
            int x = x0 + (int) Math.round(width * (m.step() - firstStep) / (double) Math.max(1, lastStep - firstStep));
            int y = y0 + height - (int) Math.round(height * (value.applyAsDouble(m) - min) / (max - min));
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            px = x;
            py = y;
        }
        String hi = String.format(Locale.ROOT, "%.3g", max), lo = String.format(Locale.ROOT, "%.3g", min);
        int tx = leftAxis ? 5 : w - 75;
        g.drawString(hi, tx, y0 + 10);
        g.drawString(lo, tx, y0 + height);
    }
}
