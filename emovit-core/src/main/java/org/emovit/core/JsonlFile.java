package org.emovit.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.Closeable;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An append-only JSON Lines file: one JSON object per line, each record flushed and fsynced before
 * {@link #append} returns, so a record that was reported written survives a crash.
 *
 * <p>{@link #open} first repairs the file: a last line without its newline (a write cut short by a crash) is cut
 * off, so the next record starts on a line of its own. Reading skips lines that do not parse (and says so).
 */
public final class JsonlFile implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What reading a JSONL file found. */
    public record Contents(List<JsonNode> records, List<String> problems, long truncatedBytes) {
    }

    private final Path path;
    private final FileOutputStream out;

    private JsonlFile(Path path, FileOutputStream out) {
        this.path = path;
        this.out = out;
    }

    /** Repairs (see the class comment), then opens for appending; creates the file and its folder if needed. */
    public static JsonlFile open(Path path) throws IOException {
        Files.createDirectories(path.toAbsolutePath().getParent());
        repair(path);
        return new JsonlFile(path, new FileOutputStream(path.toFile(), true));
    }

    /** Cuts off an unterminated last line; returns how many bytes were removed. */
    public static long repair(Path path) throws IOException {
        if (!Files.exists(path)) {
            return 0;
        }
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
            long len = raf.length();
            long keep = len;
            byte[] buf = new byte[8192];
            while (keep > 0) {
                int n = (int) Math.min(buf.length, keep);
                raf.seek(keep - n);
                raf.readFully(buf, 0, n);
                int i = n - 1;
                while (i >= 0 && buf[i] != '\n') {
                    i--;
                }
                if (i >= 0) {
                    keep = keep - n + i + 1;
                    break;
                }
                keep -= n;
            }
            if (keep < len) {
                raf.setLength(keep);
                raf.getFD().sync();
            }
            return len - keep;
        }
    }

    /**
     * Reads every complete record; an unterminated last line is ignored (not removed: {@link #open} does that),
     * a line that does not parse as a JSON object is reported in {@link Contents#problems()}.
     */
    public static Contents read(Path path) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        if (!Files.exists(path)) {
            return new Contents(records, problems, 0);
        }
        byte[] bytes = Files.readAllBytes(path);
        int start = 0;
        int lineNo = 0;
        long truncated = 0;
        while (start < bytes.length) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') {
                end++;
            }
            lineNo++;
            if (end == bytes.length) {
                truncated = end - start;
                problems.add(path + ":" + lineNo + ": unterminated last line (" + truncated + " bytes) ignored");
                break;
            }
            String line = new String(bytes, start, end - start, StandardCharsets.UTF_8);
            if (!line.isBlank()) {
                try {
                    JsonNode n = JSON.readTree(line);
                    if (n != null && n.isObject()) {
                        records.add(n);
                    } else {
                        problems.add(path + ":" + lineNo + ": not a JSON object");
                    }
                } catch (JsonProcessingException e) {
                    problems.add(path + ":" + lineNo + ": " + e.getOriginalMessage());
                }
            }
            start = end + 1;
        }
        return new Contents(records, problems, truncated);
    }

    public Path path() {
        return path;
    }

    /** Writes one record as one line, then flushes and fsyncs. Thread-safe. */
    public synchronized void append(JsonNode record) throws IOException {
        String line = JSON.writeValueAsString(record);
        if (line.indexOf('\n') >= 0) {
            throw new IllegalStateException("JSON serialisation produced a newline");
        }
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        out.getFD().sync();
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
