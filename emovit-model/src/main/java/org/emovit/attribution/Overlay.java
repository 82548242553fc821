package org.emovit.attribution;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.emovit.image.RgbImage;

/**
 * Draws a patch map over its image, in pure Java (no native code, so the server and the CLI can use it anywhere):
 * the map upsampled bilinearly to the image's size (the grid spans the whole image, which the model squashes to a
 * square), scaled by its largest weight, coloured with a jet ramp and blended over the image; a small legend bar
 * (low at the bottom, high at the top) at the right edge. The PNG has the image's own size.
 */
final class Overlay {
    /** How much of the colour map shows through: enough to read the map, little enough to see the image. */
    static final double ALPHA = 0.5;

    private Overlay() {}

    static void writePng(RgbImage image, PatchMap map, Path file) throws IOException {
        BufferedImage out = render(image, map);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(out, "png", file.toFile())) {
            throw new IOException("no PNG writer available");
        }
    }

    static byte[] png(RgbImage image, PatchMap map) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try {
            if (!ImageIO.write(render(image, map), "png", bytes)) {
                throw new IllegalStateException("no PNG writer available");
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);   // a byte array does not fail to take bytes
        }
        return bytes.toByteArray();
    }

    static BufferedImage render(RgbImage image, PatchMap map) {
        int w = image.width(), h = image.height(), side = map.side();
        float[] weights = map.weights();
        float max = 0;
        for (float v : weights) {
            max = Math.max(max, v);
        }
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        // written straight into the raster: setRGB(x, y, rgb) allocates an array per pixel (the server's largest
        // allocation under heat-map load, and so its garbage collections)
        int[] pixels = ((DataBufferInt) out.getRaster().getDataBuffer()).getData();
        for (int y = 0; y < h; y++) {
            // the centre of pixel y in grid coordinates, where grid cell centres sit at 0..side-1
            double gy = clamp((y + 0.5) * side / h - 0.5, side);
            int y0 = (int) Math.floor(gy), y1 = Math.min(y0 + 1, side - 1);
            double fy = gy - y0;
            for (int x = 0; x < w; x++) {
                double gx = clamp((x + 0.5) * side / w - 0.5, side);
                int x0 = (int) Math.floor(gx), x1 = Math.min(x0 + 1, side - 1);
                double fx = gx - x0;
                double v = (1 - fy) * ((1 - fx) * weights[y0 * side + x0] + fx * weights[y0 * side + x1])
                        + fy * ((1 - fx) * weights[y1 * side + x0] + fx * weights[y1 * side + x1]);
                int colour = jet(max > 0 ? v / max : 0);
                pixels[y * w + x] = blend(image.get(x, y, 0), image.get(x, y, 1), image.get(x, y, 2), colour);
            }
        }
        drawLegend(out);
        return out;
    }

    /** A vertical bar at the right edge, half the image's height, the ramp from 0 (bottom) to the map's maximum (top). */
    private static void drawLegend(BufferedImage out) {
        int w = out.getWidth(), h = out.getHeight();
        int barWidth = Math.max(3, w / 40), barHeight = Math.max(2, h / 2), margin = Math.max(1, w / 80);
        int left = w - margin - barWidth, top = (h - barHeight) / 2;
        if (left < 0) {
            return;   // an image too narrow for a legend gets none
        }
        for (int y = 0; y < barHeight; y++) {
            int colour = jet(1.0 - (double) y / Math.max(1, barHeight - 1));
            for (int x = 0; x < barWidth; x++) {
                boolean border = barWidth > 4 && (x == 0 || x == barWidth - 1 || y == 0 || y == barHeight - 1);
                out.setRGB(left + x, top + y, border ? 0xFFFFFF : colour);
            }
        }
    }

    private static double clamp(double g, int side) {
        return Math.max(0, Math.min(side - 1, g));
    }

    private static int blend(int r, int g, int b, int colour) {
        int cr = (colour >> 16) & 0xFF, cg = (colour >> 8) & 0xFF, cb = colour & 0xFF;
        int or = (int) Math.round((1 - ALPHA) * r + ALPHA * cr);
        int og = (int) Math.round((1 - ALPHA) * g + ALPHA * cg);
        int ob = (int) Math.round((1 - ALPHA) * b + ALPHA * cb);
        return (or << 16) | (og << 8) | ob;
    }

    /** The classic jet ramp: dark blue, blue, cyan, yellow, red, dark red for t in [0, 1]. */
    static int jet(double t) {
        t = Math.max(0, Math.min(1, t));
        int r = channel(1.5 - Math.abs(4 * t - 3));
        int g = channel(1.5 - Math.abs(4 * t - 2));
        int b = channel(1.5 - Math.abs(4 * t - 1));
        return (r << 16) | (g << 8) | b;
    }

    private static int channel(double v) {
        return (int) Math.round(255 * Math.max(0, Math.min(1, v)));
    }
}
