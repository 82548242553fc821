package org.emovit.data.assemble;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * One record of {@code all.json} as the seed's {@code all.py} writes it:
 * {@code {"id": "00012", "image": "amusement_00012.jpg", "conversations": [{"from": "human", "value": Q},
 * {"from": "gpt", "value": A}]}}. {@code kind} and {@code emotion} are bookkeeping for the summary and are not
 * written.
 */
public record InstructionRecord(String id, String image, List<Turn> conversations, String kind, String emotion) {

    public InstructionRecord {
        conversations = List.copyOf(conversations);
    }

    /** The record as written, keys in the seed's order. */
    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = f.objectNode();
        o.put("id", id);
        o.put("image", image);
        ArrayNode a = o.putArray("conversations");
        for (Turn t : conversations) {
            a.addObject().put("from", t.from()).put("value", t.value());
        }
        return o;
    }
}
