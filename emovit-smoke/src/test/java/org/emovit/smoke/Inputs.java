package org.emovit.smoke;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/** What the smoke tests feed the programs: images, an EmoSet-layout set, the JSON Lines they print. */
final class Inputs {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> EMOTIONS = List.of("amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness");

    private Inputs() {}

    /** A small picture that differs with {@code seed}: two colours and a square, as JPEG or PNG by the file's suffix. */
    static Path image(Path file, int seed) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(40 + 7 * (seed % 5), 32 + 5 * (seed % 3), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color((seed * 53) % 256, (seed * 101 + 40) % 256, (seed * 29 + 90) % 256));
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setColor(new Color((seed * 17 + 200) % 256, (seed * 71) % 256, (seed * 131 + 10) % 256));
        g.fillRect(seed % 20, seed % 12, 14, 14);
        g.dispose();
        String name = file.getFileName().toString();
        ImageIO.write(img, name.endsWith(".png") ? "png" : "jpg", file.toFile());
        return file;
    }

    /** {@code n} images {@code img0.jpg ...} in {@code dir}. */
    static Path images(Path dir, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            image(dir.resolve("img" + i + (i % 2 == 0 ? ".jpg" : ".png")), i + 1);
        }
        return dir;
    }

    /**
     * An EmoSet-layout folder: {@code perClass} images of each emotion under {@code image/<emotion>/}, their annotations,
     * and {@code train.json} / {@code test.json} listing all of them ({@code [label, image, annotation]} rows).
     */
    static Path emoset(Path root, int perClass) throws IOException {
        List<List<String>> rows = new ArrayList<>();
        for (int e = 0; e < EMOTIONS.size(); e++) {
            String label = EMOTIONS.get(e);
            for (int i = 0; i < perClass; i++) {
                String name = label + "_" + String.format("%05d", e * 10 + i);
                image(root.resolve("image/" + label + "/" + name + ".jpg"), e * 10 + i);
                Path annotation = root.resolve("annotation/" + label + "/" + name + ".json");
                Files.createDirectories(annotation.getParent());
                Files.writeString(annotation, "{\"emotion\": \"" + label + "\", \"brightness\": 0.4, \"colorfulness\": 0.7, "
                        + "\"object\": [\"Toy\"], \"scene\": \"room\"}");
                rows.add(List.of(label, "image/" + label + "/" + name + ".jpg", "annotation/" + label + "/" + name + ".json"));
            }
        }
        Files.writeString(root.resolve("train.json"), JSON.writeValueAsString(rows));
        Files.writeString(root.resolve("test.json"), JSON.writeValueAsString(rows));
        return root;
    }

    /** JSON Lines (a file or a program's stdout) keyed by the file name of their {@code key} field. */
    static Map<String, JsonNode> byFileName(List<String> lines, String key) throws IOException {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (String line : lines) {
            JsonNode n = JSON.readTree(line);
            m.put(Path.of(n.get(key).asText().replaceFirst("^file:", "")).getFileName().toString(), n);
        }
        return m;
    }
}
