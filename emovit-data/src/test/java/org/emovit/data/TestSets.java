package org.emovit.data;

import org.emovit.core.Emotion;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds small EmoSet-layout sets for tests. */
final class TestSets {
    private TestSets() {
    }

    /** What was made: the root, and the keys of the planted problems. */
    record Made(Path root, int perClass, String malformedKey, Path malformedFile, String missingImageKey) {
    }

    static String name(Emotion e, int i) {
        return e.label() + "_" + String.format("%05d", 100 + i);
    }

    /**
     * {@code perClass} images per class (PNG for even i, JPEG for odd), annotations in three shapes (all fields
     * plus an unknown one; emotion only; some fields plus an unknown one), the annotation of anger #1 malformed,
     * the image of fear #2 missing; train.json lists every image with the classes interleaved plus two bad
     * entries; val.json lists image #0 of each class.
     */
    static Made emoSet(Path root, int perClass) throws IOException {
        List<String> train = new ArrayList<>();
        List<String> val = new ArrayList<>();
        String malformedKey = null;
        Path malformedFile = null;
        String missingKey = null;
        for (int i = 0; i < perClass; i++) {
            for (Emotion e : Emotion.values()) {
                String n = name(e, i);
                String ext = i % 2 == 0 ? "png" : "jpg";
                String img = "image/" + e.label() + "/" + n + "." + ext;
                String ann = "annotation/" + e.label() + "/" + n + ".json";
                train.add("[\"" + e.label() + "\", \"" + img + "\", \"" + ann + "\"]");
                if (i == 0) {
                    val.add("[\"" + e.label() + "\", \"" + img + "\", \"" + ann + "\"]");
                }
                boolean missing = e == Emotion.FEAR && i == 2;
                if (missing) {
                    missingKey = e.label() + "/" + n;
                } else {
                    writeImage(root.resolve(img), ext, e.ordinal(), i);
                }
                String json;
                if (e == Emotion.ANGER && i == 1) {
                    json = "{\"emotion\": \"anger\", \"brightness\": }";
                    malformedKey = e.label() + "/" + n;
                    malformedFile = root.resolve(ann);
                } else if (i % 3 == 0) {
                    json = "{\"emotion\": \"" + e.label() + "\", \"brightness\": 0." + (i % 10)
                            + ", \"colorfulness\": 1.0, \"scene\": \"street\", \"object\": [\"Toy\", \"Person's hat\"],"
                            + " \"facial_expression\": \"happy\", \"human_action\": \"running\", \"source_id\": " + (7 + i) + "}";
                } else if (i % 3 == 1) {
                    json = "{\"emotion\": \"" + e.label() + "\"}";
                } else {
                    json = "{\"emotion\": \"" + e.label() + "\", \"brightness\": 0.3, \"object\": [\"Dog\"],"
                            + " \"notes\": {\"rater\": 2}}";
                }
                Files.createDirectories(root.resolve(ann).getParent());
                Files.writeString(root.resolve(ann), json);
            }
        }
        train.add("[\"joy\", \"image/joy/joy_00001.jpg\", \"annotation/joy/joy_00001.json\"]");
        train.add("[1, 2]");
        Files.writeString(root.resolve("train.json"), "[" + String.join(",\n", train) + "]", StandardCharsets.UTF_8);
        Files.writeString(root.resolve("val.json"), "[" + String.join(",\n", val) + "]", StandardCharsets.UTF_8);
        return new Made(root, perClass, malformedKey, malformedFile, missingKey);
    }

    static void writeImage(Path file, String format, int a, int b) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage im = new BufferedImage(8, 6, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 8; x++) {
                int r = (a * 31 + x * 20) & 0xFF;
                int g = (b * 47 + y * 30) & 0xFF;
                int bl = (a * 13 + b * 7 + x * y) & 0xFF;
                im.setRGB(x, y, (r << 16) | (g << 8) | bl);
            }
        }
        if (!ImageIO.write(im, format, file.toFile())) {
            throw new IOException("no ImageIO writer for " + format);
        }
    }
}
