package org.emovit.eval;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * predictions.jsonl: one prediction per line, appended and forced to disk one by one, so a run that is stopped
 * loses at most the line being written. Opening it again drops a cut-off last line (truncating the file back
 * to the last complete line) and knows which ids are done, so the run resumes where it stopped. A later line
 * for the same id replaces an earlier one (a failed item retried).
 */
public final class PredictionsFile implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final FileChannel channel;
    private final Map<String, Prediction> byId = new LinkedHashMap<>();

    private PredictionsFile(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    public static PredictionsFile open(Path file) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            PredictionsFile p = new PredictionsFile(file, ch);
            p.load();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open predictions file " + file + ": " + e.getMessage(), e);
        }
    }

    private void load() throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int lastComplete = 0;
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                String line = new String(bytes, start, i - start, StandardCharsets.UTF_8);
                if (!line.isBlank()) {
                    Prediction p = parse(line, file, start);
                    byId.put(p.id(), p);
                }
                start = i + 1;
                lastComplete = i + 1;
            }
        }
        if (lastComplete < bytes.length) {
            channel.truncate(lastComplete);   // a line cut off by a crash: its item is done again
        }
        channel.position(lastComplete);
    }

    private static Prediction parse(String line, Path file, int offset) {
        try {
            JsonNode n = JSON.readTree(line);
            Map<String, Double> probs = n.hasNonNull("probabilities")
                    ? JSON.convertValue(n.get("probabilities"), new TypeReference<LinkedHashMap<String, Double>>() {})
                    : Map.of();
            return new Prediction(n.get("id").asText(), text(n, "image"), text(n, "gold"), text(n, "predicted"), probs,
                    text(n, "explanation"), text(n, "error"));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException(file + ": unreadable line at byte " + offset + ": " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asText() : null;
    }

    /** Ids predicted without error (failed ones are tried again). */
    public Set<String> done() {
        Set<String> out = new LinkedHashSet<>();
        for (Prediction p : byId.values()) {
            if (p.error() == null) {
                out.add(p.id());
            }
        }
        return out;
    }

    public List<Prediction> all() {
        return new ArrayList<>(byId.values());
    }

    public synchronized void append(Prediction p) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", p.id());
        n.put("image", p.image());
        n.put("gold", p.gold());
        n.put("predicted", p.predicted());
        if (p.probabilities() != null && !p.probabilities().isEmpty()) {
            ObjectNode probs = n.putObject("probabilities");
            p.probabilities().forEach(probs::put);
        }
        if (p.explanation() != null) {
            n.put("explanation", p.explanation());
        }
        if (p.error() != null) {
            n.put("error", p.error());
        }
        try {
            byte[] line = (JSON.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8);
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            channel.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
        byId.put(p.id(), p);
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }
}
