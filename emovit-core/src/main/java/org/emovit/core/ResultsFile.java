package org.emovit.core;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A resumable results file: a {@link JsonlFile} of one record per item, keyed by a field (the image's path
 * relative to its dataset, or as given), with a record of what produced it beside it
 * ({@code FILE.provenance.json}: model, overlay, dtype, mode, dataset...).
 *
 * <p>Opening it again resumes: records made by something else are never mixed in (a different provenance is
 * refused with both descriptions, or the file is started afresh when asked), a cut-off last line is dropped,
 * and the file is compacted to one line per item, keeping only successful records (those without an
 * {@code error} field), so failed items are tried again and still end with exactly one line.
 */
public final class ResultsFile implements Closeable {
    private final JsonlFile file;
    private final String keyField;
    private final Map<String, JsonNode> byKey = new LinkedHashMap<>();

    private ResultsFile(JsonlFile file, String keyField) {
        this.file = file;
        this.keyField = keyField;
    }

    /**
     * @param provenance what this run is (compared with what made the file, as text)
     * @param fresh      start over when the file was made by something else (otherwise that is an error)
     */
    public static ResultsFile open(Path path, String keyField, Map<String, String> provenance, boolean fresh) throws IOException {
        return open(path, keyField, provenance, fresh, r -> true);
    }

    /**
     * As {@link #open(Path, String, Map, boolean)}, where a successful record that {@code complete} rejects (say, one
     * whose heat-map file is missing or another image's) is dropped like a failure, so its item is done again.
     */
    public static ResultsFile open(Path path, String keyField, Map<String, String> provenance, boolean fresh,
                                   IoPredicate<JsonNode> complete) throws IOException {
        Path sidecar = provenancePath(path);
        Map<String, String> wanted = new TreeMap<>(provenance);
        boolean hasData = Files.exists(path) && Files.size(path) > 0;
        if (hasData) {
            Map<String, String> found = Files.exists(sidecar) ? readProvenance(sidecar) : null;
            if (!wanted.equals(found)) {
                if (!fresh) {
                    throw new IllegalArgumentException(path + " holds results of another run ("
                            + (found == null ? "made before provenance was recorded" : describe(found)) + "; this run: "
                            + describe(wanted) + "): give another output, or --fresh to start over");
                }
                Files.delete(path);
            }
        }
        JsonlFile.repair(path);
        AtomicFiles.writeString(sidecar, JsonlFile.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(wanted) + "\n");
        JsonlFile.Contents<JsonNode> contents = JsonlFile.read(path);
        Map<String, JsonNode> kept = new LinkedHashMap<>();
        int lines = 0;
        for (JsonNode r : contents.records()) {
            lines++;
            if (!r.hasNonNull(keyField)) {
                throw new IllegalArgumentException(path + ": a record without \"" + keyField + "\": " + r);
            }
            String key = r.get(keyField).asText();
            if (r.hasNonNull("error") || !complete.test(r)) {
                kept.remove(key);   // tried again in this run
            } else {
                kept.put(key, r);
            }
        }
        if (lines != kept.size() || !contents.problems().isEmpty()) {
            JsonlFile.rewrite(path, new ArrayList<>(kept.values()));
        }
        ResultsFile out = new ResultsFile(JsonlFile.open(path), keyField);
        out.byKey.putAll(kept);
        return out;
    }

    /** A test of a record that may read files. */
    @FunctionalInterface
    public interface IoPredicate<T> {
        boolean test(T t) throws IOException;
    }

    public static Path provenancePath(Path path) {
        return path.resolveSibling(path.getFileName() + ".provenance.json");
    }

    private static Map<String, String> readProvenance(Path sidecar) throws IOException {
        try {
            return new TreeMap<>(JsonlFile.mapper().readValue(Files.readString(sidecar, StandardCharsets.UTF_8),
                    new TypeReference<Map<String, String>>() {}));
        } catch (IOException e) {
            return Map.of("unreadable provenance", sidecar.toString());
        }
    }

    private static String describe(Map<String, String> p) {
        StringBuilder sb = new StringBuilder();
        p.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
        return sb.toString();
    }

    /** The items already done (successfully), in file order. */
    public java.util.Set<String> done() {
        return java.util.Collections.unmodifiableSet(byKey.keySet());
    }

    /** Every record, one per item (the successful ones from earlier runs, then this run's, failures included). */
    public List<JsonNode> records() {
        return new ArrayList<>(byKey.values());
    }

    /** Appends one record (fsynced) and remembers it under its key. Thread-safe. */
    public synchronized void append(Object record) throws IOException {
        JsonNode n = JsonlFile.mapper().valueToTree(record);
        if (!n.hasNonNull(keyField)) {
            throw new IllegalArgumentException("record without \"" + keyField + "\": " + n);
        }
        file.append(n);
        byKey.put(n.get(keyField).asText(), n);
    }

    public Path path() {
        return file.path();
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
