package org.emovit.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
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
 * The project's one JSON Lines file: one JSON object per line, appended, and crash-safe. Every writer of a
 * {@code .jsonl} (classify output, eval predictions, the data stages, training metrics) goes through it.
 *
 * <ul>
 *   <li><b>Durability</b>: {@link #append} writes, flushes and fsyncs one record before it returns, so a record
 *       reported written survives a crash; {@link #appendAll} fsyncs once for the batch (a crash loses at most
 *       that batch, never a record of an earlier one).</li>
 *   <li><b>Repair</b>: {@link #open} first cuts off a last line without its newline (a write cut short by a
 *       crash), so the next record starts on a line of its own and the cut record is written again on resume.</li>
 *   <li><b>Records</b>: Java records (or any Jackson-mappable type) are (de)serialised with Jackson; null fields
 *       are left out. Reading skips, and reports, complete lines that do not parse.</li>
 * </ul>
 */
public final class JsonlFile implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper()
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** What reading a JSONL file found: the complete records, the lines that did not parse, the cut-off bytes. */
    public record Contents<T>(List<T> records, List<String> problems, long truncatedBytes) {
    }

    private final Path path;
    private final FileOutputStream out;

    private JsonlFile(Path path, FileOutputStream out) {
        this.path = path;
        this.out = out;
    }

    /** The mapper the files are written with (for callers that build {@link JsonNode}s themselves). */
    public static ObjectMapper mapper() {
        return JSON;
    }

    /** Repairs (see the class comment), then opens for appending; creates the file and its folder if needed. */
    public static JsonlFile open(Path path) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            Files.createDirectories(parent);
        }
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

    /** Every complete record as a JSON object (see {@link #read(Path, Class)}). */
    public static Contents<JsonNode> read(Path path) throws IOException {
        return read(path, JsonNode.class);
    }

    /**
     * Reads every complete record as {@code type}; an unterminated last line is ignored (not removed: {@link #open}
     * does that), a line that is not a JSON object of that type is reported in {@link Contents#problems()}.
     */
    public static <T> Contents<T> read(Path path, Class<T> type) throws IOException {
        List<T> records = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        if (!Files.exists(path)) {
            return new Contents<>(records, problems, 0);
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
            String line;
            try {
                line = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes, start, end - start)).toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                // decoding would replace the bad bytes silently and hand on a record that is not what was written
                problems.add(path + ":" + lineNo + ": not UTF-8 text (at byte " + start + " of the file)");
                start = end + 1;
                continue;
            }
            if (!line.isBlank()) {
                try {
                    JsonNode n = JSON.readTree(line);
                    if (n != null && n.isObject()) {
                        records.add(JSON.treeToValue(n, type));
                    } else {
                        problems.add(path + ":" + lineNo + ": not a JSON object");
                    }
                } catch (JsonProcessingException | IllegalArgumentException e) {
                    problems.add(path + ":" + lineNo + ": " + Errors.firstLine(e));
                }
            }
            start = end + 1;
        }
        return new Contents<>(records, problems, truncated);
    }

    /**
     * Replaces the whole file with these records, atomically (a crash leaves the old file or the new one). Used to
     * compact a file before a resumed run, so that it holds one line per item.
     */
    public static void rewrite(Path path, List<?> records) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Object r : records) {
            sb.append(line(r));
        }
        AtomicFiles.write(path, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    public Path path() {
        return path;
    }

    /** Writes one record as one line, then flushes and fsyncs. Thread-safe. */
    public synchronized void append(Object record) throws IOException {
        out.write(line(record).getBytes(StandardCharsets.UTF_8));
        out.flush();
        out.getFD().sync();
    }

    /** Writes the records, one line each, with one fsync for the batch. Thread-safe. */
    public synchronized void appendAll(List<?> records) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Object r : records) {
            sb.append(line(r));
        }
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        out.getFD().sync();
    }

    private static String line(Object record) throws JsonProcessingException {
        String line = JSON.writeValueAsString(record);
        if (line.indexOf('\n') >= 0) {
            throw new IllegalStateException("JSON serialisation produced a newline");
        }
        return line + "\n";
    }


    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
