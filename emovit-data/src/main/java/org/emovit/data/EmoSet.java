package org.emovit.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.emovit.core.Emotion;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * An EmoSet-layout folder: {@code image/<emotion>/<emotion>_NNNNN.jpg},
 * {@code annotation/<emotion>/<emotion>_NNNNN.json}, and split lists {@code train.json} / {@code val.json} /
 * {@code test.json}, each a JSON list of {@code [emotion, image path, annotation path]} with paths relative to
 * the root.
 *
 * <p>Annotations are read as Python's {@code json.load} reads them (numbers keep the int / float distinction,
 * {@code NaN} and {@code Infinity} are accepted, trailing data is an error), so the cap-anno text built from them
 * is the seed's.
 */
public final class EmoSet {
    /** The JSON reader for annotations and split lists. */
    public static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** File extensions taken as images when scanning folders. */
    public static final Set<String> IMAGE_EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff");

    private final Path root;

    private EmoSet(Path root) {
        this.root = root;
    }

    public static EmoSet open(Path root) {
        return new EmoSet(root);
    }

    public Path root() {
        return root;
    }

    /** The file of a split: {@code train} is {@code <root>/train.json}; anything with a slash or ".json" is a path. */
    public Path splitFile(String split) {
        if (split.contains("/") || split.endsWith(".json")) {
            Path p = Path.of(split);
            return p.isAbsolute() || Files.exists(p) ? p : root.resolve(split);
        }
        return root.resolve(split + ".json");
    }

    /**
     * Reads a split list. Entries that are not a list of three strings, or whose emotion is not one of the 8, are
     * skipped and reported in {@link SplitList#issues()}.
     *
     * @throws IOException when the file is missing or is not a JSON list
     */
    public SplitList split(String split) throws IOException {
        Path file = splitFile(split);
        JsonNode top;
        try {
            top = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new MalformedDataException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (java.io.FileNotFoundException e) {
            throw new NoSuchFileException(file.toString(), null, "split list not found");
        }
        if (top == null || !top.isArray()) {
            throw new MalformedDataException(file + ": a split list must be a JSON list of [emotion, image, annotation]");
        }
        List<SplitEntry> entries = new ArrayList<>();
        List<DataIssue> issues = new ArrayList<>();
        Map<Emotion, Integer> counts = new EnumMap<>(Emotion.class);
        for (int i = 0; i < top.size(); i++) {
            JsonNode item = top.get(i);
            String where = file.getFileName() + "[" + i + "]";
            if (!item.isArray() || item.size() < 3 || !item.get(0).isTextual() || !item.get(1).isTextual()
                    || !item.get(2).isTextual()) {
                issues.add(new DataIssue(where, file.toString(), "not a list of [emotion, image path, annotation path]: "
                        + abbreviate(item.toString())));
                continue;
            }
            Optional<Emotion> e = Emotion.fromLabel(item.get(0).textValue());
            if (e.isEmpty()) {
                issues.add(new DataIssue(where, file.toString(), "unknown emotion '" + item.get(0).textValue() + "'"));
                continue;
            }
            String image = item.get(1).textValue();
            int index = counts.merge(e.get(), 1, Integer::sum) - 1;
            entries.add(new SplitEntry(e.get(), image, item.get(2).textValue(), SplitEntry.nameOf(image), index));
        }
        return new SplitList(split, entries, issues);
    }

    public Path imageFile(SplitEntry e) {
        return root.resolve(e.imagePath());
    }

    public Path annotationFile(SplitEntry e) {
        return root.resolve(e.annotationPath());
    }

    /**
     * Reads the annotation of an entry.
     *
     * @throws NoSuchFileException    when it does not exist
     * @throws MalformedDataException when it is not a JSON object with an {@code emotion} field (the message
     *                                names the file)
     */
    public Annotation annotation(SplitEntry e) throws IOException {
        return readAnnotation(annotationFile(e));
    }

    /** Reads one annotation file (see {@link #annotation}). */
    public static Annotation readAnnotation(Path file) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException ex) {
            throw new NoSuchFileException(file.toString(), null, "annotation not found");
        }
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (JsonProcessingException ex) {
            throw new MalformedDataException(file + ": malformed annotation: " + ex.getOriginalMessage(), ex);
        }
        if (n == null || !n.isObject()) {
            throw new MalformedDataException(file + ": malformed annotation: not a JSON object");
        }
        if (!n.has("emotion")) {
            throw new MalformedDataException(file + ": malformed annotation: no 'emotion' field");
        }
        return new Annotation(file, (ObjectNode) n);
    }

    /**
     * Lists {@code image/<emotion>/*} (the 8 emotion folders, files with an image extension, sorted by name) as a
     * split, with annotation paths {@code annotation/<emotion>/<name>.json} whether or not those exist: the way to
     * run the pipeline on one's own labelled images (see {@link Attributes}).
     */
    public SplitList scanImageFolders() throws IOException {
        List<SplitEntry> entries = new ArrayList<>();
        List<DataIssue> issues = new ArrayList<>();
        for (Emotion e : Emotion.values()) {
            Path dir = root.resolve("image").resolve(e.label());
            if (!Files.isDirectory(dir)) {
                continue;
            }
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
            int index = 0;
            for (Path f : files) {
                String fn = f.getFileName().toString();
                int dot = fn.lastIndexOf('.');
                String ext = dot < 0 ? "" : fn.substring(dot + 1).toLowerCase(Locale.ROOT);
                if (!IMAGE_EXTENSIONS.contains(ext)) {
                    issues.add(new DataIssue(fn, f.toString(), "not an image file name; skipped"));
                    continue;
                }
                String name = SplitEntry.nameOf(fn);
                entries.add(new SplitEntry(e, "image/" + e.label() + "/" + fn,
                        "annotation/" + e.label() + "/" + name + ".json", name, index++));
            }
        }
        return new SplitList("image folders", entries, issues);
    }

    /** Writes a split list ({@code [[emotion, image, annotation], ...]}, one entry a line). */
    public static void writeSplit(Path file, List<SplitEntry> entries) throws IOException {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < entries.size(); i++) {
            SplitEntry s = entries.get(i);
            ArrayNode a = JsonNodeFactory.instance.arrayNode().add(s.emotion().label()).add(s.imagePath())
                    .add(s.annotationPath());
            sb.append(i == 0 ? "\n" : ",\n").append(PythonJson.dumps(a, -1));
        }
        sb.append(entries.isEmpty() ? "]\n" : "\n]\n");
        DataFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    static String abbreviate(String s) {
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }
}
