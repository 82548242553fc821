package org.emovit.data.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.emovit.data.DataFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Replies already paid for, on disk, keyed by (model, system prompt, user input): a rerun, or a run after a
 * crash, asks the server only for what it has never answered. One file per reply,
 * {@code <dir>/<first 2 hex>/<sha256>.json}, written atomically and fsynced before the reply is used, so a crash
 * at any point loses at most the request in flight.
 *
 * <p>Temperature and token limits are deliberately not part of the key: they change how a reply is sampled, not
 * what was asked, and changing them should not buy the whole set again. Use another cache folder to force new
 * replies.
 */
public final class ResponseCache {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;

    /** A cached reply. */
    public record Entry(String key, String model, String content, long promptTokens, long completionTokens,
                        String created) {
    }

    public ResponseCache(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** SHA-256 (hex) of the length-prefixed UTF-8 of a version tag, the model, the system prompt and the input. */
    public static String key(String model, String system, String user) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String part : new String[] {"emovit-chat-cache-v1", model, system, user}) {
                byte[] b = part.getBytes(StandardCharsets.UTF_8);
                md.update((b.length + ":").getBytes(StandardCharsets.US_ASCII));
                md.update(b);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    Path file(String key) {
        return dir.resolve(key.substring(0, 2)).resolve(key + ".json");
    }

    /** The cached reply, or empty (also when the file is unreadable: it is then simply asked for again). */
    public Optional<Entry> get(String key) {
        Path f = file(key);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            JsonNode n = JSON.readTree(f.toFile());
            if (n == null || !n.path("content").isTextual() || !key.equals(n.path("key").asText())) {
                return Optional.empty();
            }
            return Optional.of(new Entry(key, n.path("model").asText(), n.get("content").textValue(),
                    n.path("prompt_tokens").asLong(), n.path("completion_tokens").asLong(),
                    n.path("created").asText()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Stores a reply (atomically, fsynced). */
    public Entry put(String key, String model, ChatResult r) throws IOException {
        Entry e = new Entry(key, model, r.content(), r.promptTokens(), r.completionTokens(), Instant.now().toString());
        ObjectNode n = JSON.createObjectNode();
        n.put("key", key);
        n.put("model", model);
        n.put("answered_by", r.model());
        n.put("content", r.content());
        n.put("prompt_tokens", r.promptTokens());
        n.put("completion_tokens", r.completionTokens());
        n.put("created", e.created());
        DataFiles.write(file(key), JSON.writeValueAsBytes(n));
        return e;
    }
}
