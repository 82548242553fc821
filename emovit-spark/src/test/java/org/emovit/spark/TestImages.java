package org.emovit.spark;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/** Small generated images, and broken ones of the kinds real collections hold. */
final class TestImages {
    private TestImages() {}

    static byte[] png(int seed) throws Exception {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(16 + r.nextInt(16), 12 + r.nextInt(12), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                img.setRGB(x, y, r.nextInt(0xFFFFFF));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static Path write(Path file, byte[] bytes) throws Exception {
        Files.createDirectories(file.getParent());
        return Files.write(file, bytes);
    }

    /** {@code good} distinct PNGs named img-NNN.png under dir (spread over two sub-folders). */
    static List<Path> pngs(Path dir, int good, int seedBase) throws Exception {
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < good; i++) {
            out.add(write(dir.resolve((i % 2 == 0 ? "a" : "b") + "/img-" + String.format("%03d", i) + ".png"), png(seedBase + i)));
        }
        return out;
    }

    /**
     * Five files that are not readable images: one byte, text, truncated PNG, PNG header only, random bytes. (Not an
     * empty file: Spark's file sources never list zero-length files, so such a file has no row at all.)
     */
    static List<Path> broken(Path dir) throws Exception {
        byte[] good = png(9999);
        byte[] noise = new byte[300];
        new Random(7).nextBytes(noise);
        return List.of(
                write(dir.resolve("broken/one-byte.png"), new byte[] {0x42}),
                write(dir.resolve("broken/text.png"), "this is not an image".getBytes()),
                write(dir.resolve("broken/truncated.png"), java.util.Arrays.copyOf(good, good.length / 3)),
                write(dir.resolve("broken/header.png"), java.util.Arrays.copyOf(good, 8)),
                write(dir.resolve("broken/noise.jpg"), noise));
    }
}
