package org.emovit.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Decoding for GPT-2's byte-level BPE (OPT's tokenizer, vocab.json): each token is a string of stand-in
 * characters, one per byte (GPT-2's bytes_to_unicode table), so decoding maps the characters back to bytes and
 * reads them as UTF-8. Only decoding is needed to read BLIP-2 captions (its prompt is just the BOS id).
 */
public final class ByteLevelBpeDecoder {
    private final Map<Integer, String> tokens = new HashMap<>();
    private final Map<String, Integer> ids = new HashMap<>();
    private final Map<Character, Integer> byteOf = new HashMap<>();

    private ByteLevelBpeDecoder(JsonNode vocab) {
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            tokens.put(e.getValue().asInt(), e.getKey());
            ids.put(e.getKey(), e.getValue().asInt());
        }
        // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to 256 + n in order
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            byteOf.put((char) (printable ? b : 256 + n++), b);
        }
    }

    public static ByteLevelBpeDecoder load(Path vocabJson) {
        try {
            return new ByteLevelBpeDecoder(new ObjectMapper().readTree(vocabJson.toFile()));
        } catch (IOException e) {
            throw new TokenizerException("cannot read BPE vocabulary " + vocabJson + ": " + e.getMessage(), e);
        }
    }

    /** The id of a token string (e.g. "Ċ", GPT-2's newline), or -1. */
    public int tokenId(String token) {
        return ids.getOrDefault(token, -1);
    }

    /** The text of the ids, leaving out those in skip (special tokens) and unknown ids. */
    public String decode(long[] tokenIds, Set<Long> skip) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (long id : tokenIds) {
            String t = tokens.get((int) id);
            if (t == null || skip.contains(id)) {
                continue;
            }
            for (int i = 0; i < t.length(); i++) {
                Integer b = byteOf.get(t.charAt(i));
                if (b != null) {
                    bytes.write(b);
                }
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
