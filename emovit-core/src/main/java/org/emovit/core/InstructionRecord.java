package org.emovit.core;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One record of {@code all.json}, EmoVIT's instruction set, as the seed's {@code all.py} writes it and the
 * trainer reads it: {@code {"id": "00012", "image": "amusement_00012.jpg", "conversations": [{"from": "human",
 * "value": Q}, {"from": "gpt", "value": A}]}}. {@code kind} (conversation, reasoning, categorical, or an import's
 * name) and {@code emotion} are bookkeeping for summaries and are not written.
 */
@JsonPropertyOrder({"id", "image", "conversations"})
public record InstructionRecord(String id, String image, List<Turn> conversations,
                                @JsonIgnore String kind, @JsonIgnore String emotion) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public InstructionRecord {
        conversations = List.copyOf(conversations);
    }

    /** The record as written, keys in the seed's order. */
    public ObjectNode toJson() {
        return JSON.valueToTree(this);
    }

    /**
     * Reads one record; a malformed one is an {@link IllegalArgumentException} saying what is wrong (the caller
     * adds where). {@code id} may be a string or an integer, as Python writes either.
     */
    public static InstructionRecord fromJson(JsonNode r, String kind) {
        if (r == null || !r.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        if (!r.path("id").isTextual() && !r.path("id").isIntegralNumber()) {
            throw new IllegalArgumentException("no 'id'");
        }
        if (!r.path("image").isTextual()) {
            throw new IllegalArgumentException("no 'image'");
        }
        JsonNode conv = r.path("conversations");
        if (!conv.isArray() || conv.isEmpty()) {
            throw new IllegalArgumentException("no 'conversations' list");
        }
        List<Turn> turns = new ArrayList<>();
        for (JsonNode t : conv) {
            if (!t.path("from").isTextual() || !t.path("value").isTextual()) {
                throw new IllegalArgumentException("a conversation turn without 'from' and 'value' strings");
            }
            turns.add(new Turn(t.get("from").textValue(), t.get("value").textValue()));
        }
        String image = r.get("image").textValue();
        int underscore = image.indexOf('_');
        String emotion = Emotion.fromLabel(underscore < 0 ? image : image.substring(0, underscore))
                .map(Emotion::label).orElse("unknown");
        return new InstructionRecord(r.get("id").isTextual() ? r.get("id").textValue() : r.get("id").asText(),
                image, turns, kind, emotion);
    }
}
