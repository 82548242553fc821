package org.emovit.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.emovit.core.Emotion;

/** Readers for the labelled sets emotion models are evaluated on. */
public final class Datasets {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.util.Set<String> IMAGE_EXTENSIONS = java.util.Set.of("jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff");

    private Datasets() {}

    /** A split file (a .json) or a folder per class (a directory). */
    public static LabelledDataset open(Path dirOrSplitJson, Path mappingOrNull) {
        if (Files.isDirectory(dirOrSplitJson)) {
            return folderPerClass(dirOrSplitJson, mappingOrNull);
        }
        if (Files.isRegularFile(dirOrSplitJson)) {
            return emosetSplit(dirOrSplitJson);
        }
        throw new IllegalArgumentException("dataset not found: " + dirOrSplitJson);
    }

    /**
     * An EmoSet split file: a JSON list of [emotion, "image/&lt;e&gt;/&lt;name&gt;.jpg", "annotation/&lt;e&gt;/&lt;name&gt;.json"];
     * image paths are relative to the split file's directory (the EmoSet root); the id is that relative path.
     */
    public static LabelledDataset emosetSplit(Path splitJson) {
        JsonNode root;
        try {
            root = JSON.readTree(splitJson.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read EmoSet split " + splitJson + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isArray()) {
            throw new IllegalArgumentException(splitJson + " is not an EmoSet split file (a JSON list of [emotion, image, annotation])");
        }
        Path base = splitJson.toAbsolutePath().getParent();
        List<LabelledImage> items = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode entry = root.get(i);
            if (!entry.isArray() || entry.size() < 2 || !entry.get(0).isTextual() || !entry.get(1).isTextual()) {
                problems.add(splitJson + " entry " + i + ": expected [emotion, image path, annotation path], got " + entry);
                continue;
            }
            String label = entry.get(0).asText();
            if (Emotion.fromLabel(label).isEmpty()) {
                problems.add(splitJson + " entry " + i + ": label '" + label + "' is none of the 8 emotions: skipped");
                continue;
            }
            Path image = base.resolve(entry.get(1).asText());
            if (!Files.isRegularFile(image)) {
                problems.add(splitJson + " entry " + i + ": image not found: " + image);
                continue;
            }
            // Keyed by the path as the split gives it: file names repeat across class folders (image/awe/001.jpg, image/fear/001.jpg).
            items.add(new LabelledImage(entry.get(1).asText(), image, label, Emotion.fromLabel(label).orElse(null)));
        }
        String name = base.getFileName() + "-" + stem(splitJson);
        return new LabelledDataset(name, items, problems);
    }

    /**
     * A folder per class (FI, Emotion6, WEBEmo style): DIR/&lt;class&gt;/images. Class names that are one of the 8
     * labels map to themselves; others need the mapping file (a JSON object or "class,label" CSV lines). Images
     * of a class that maps to nothing are skipped and reported.
     */
    public static LabelledDataset folderPerClass(Path dir, Path mappingOrNull) {
        Map<String, String> mapping = mappingOrNull == null ? Map.of() : readMapping(mappingOrNull);
        List<LabelledImage> items = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        List<Path> classes;
        try (Stream<Path> s = Files.list(dir)) {
            classes = s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        if (classes.isEmpty()) {
            throw new IllegalArgumentException(dir + " has no class folders");
        }
        for (Path classDir : classes) {
            String className = classDir.getFileName().toString();
            String label = mapping.getOrDefault(className.toLowerCase(Locale.ROOT), className);
            Emotion emotion = Emotion.fromLabel(label).orElse(null);
            List<Path> images;
            try (Stream<Path> s = Files.walk(classDir)) {
                images = s.filter(Files::isRegularFile).filter(Datasets::looksLikeImage).sorted().toList();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + classDir + ": " + e.getMessage(), e);
            }
            if (emotion == null) {
                problems.add("class '" + className + "' (" + images.size() + " images) maps to none of the 8 emotions"
                        + (mappingOrNull == null ? "; give --mapping" : " in " + mappingOrNull) + ": skipped");
                continue;
            }
            for (Path image : images) {
                items.add(new LabelledImage(className + "/" + dir.relativize(image).toString().substring(className.length() + 1),
                        image, emotion.label(), emotion));
            }
        }
        return new LabelledDataset(dir.getFileName().toString(), items, problems);
    }

    /** class name (lower-case) -> label, from a JSON object or CSV lines "class,label". */
    static Map<String, String> readMapping(Path file) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            if (text.strip().startsWith("{")) {
                JsonNode n = JSON.readTree(text);
                for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    out.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue().asText());
                }
            } else {
                int line = 0;
                for (String l : text.split("\\R")) {
                    line++;
                    if (l.isBlank() || l.startsWith("#")) {
                        continue;
                    }
                    String[] parts = l.split(",", 2);
                    if (parts.length != 2) {
                        throw new IllegalArgumentException(file + " line " + line + ": expected 'class,label', got '" + l + "'");
                    }
                    out.put(parts[0].strip().toLowerCase(Locale.ROOT), parts[1].strip());
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read label mapping " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static boolean looksLikeImage(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 && IMAGE_EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }
}
