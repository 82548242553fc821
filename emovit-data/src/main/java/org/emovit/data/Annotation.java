package org.emovit.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * An EmoSet annotation file: {@code emotion} (always) and the optional {@code brightness}, {@code colorfulness},
 * {@code scene}, {@code object}, {@code facial_expression}, {@code human_action}. The whole JSON object is kept
 * as read, in file order, so fields this class does not know are not lost ({@link #fields()},
 * {@link #unknownFields()}).
 *
 * @param path   where it was read from (may be null for an annotation made in memory)
 * @param fields the JSON object
 */
public record Annotation(Path path, ObjectNode fields) {

    /** The fields EmoSet defines. */
    public static final Set<String> KNOWN = Set.of("emotion", "brightness", "colorfulness", "scene", "object",
            "facial_expression", "human_action");

    /** Python's {@code str()} of the {@code emotion} value. */
    public String emotion() {
        return PyText.str(fields.get("emotion"));
    }

    public boolean has(String field) {
        return fields.has(field);
    }

    public OptionalDouble brightness() {
        return number("brightness");
    }

    public OptionalDouble colorfulness() {
        return number("colorfulness");
    }

    public Optional<String> scene() {
        return text("scene");
    }

    /** The {@code object} list (a single string counts as a one-element list). */
    public List<String> objects() {
        JsonNode v = fields.get("object");
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (v.isArray()) {
            v.forEach(x -> out.add(x.isTextual() ? x.textValue() : x.toString()));
        } else {
            out.add(v.isTextual() ? v.textValue() : v.toString());
        }
        return out;
    }

    public Optional<String> facialExpression() {
        return text("facial_expression");
    }

    public Optional<String> humanAction() {
        return text("human_action");
    }

    /** The fields outside {@link #KNOWN}, in file order. */
    public Map<String, JsonNode> unknownFields() {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = fields.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!KNOWN.contains(e.getKey())) {
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    private OptionalDouble number(String key) {
        JsonNode v = fields.get(key);
        return v != null && v.isNumber() ? OptionalDouble.of(v.doubleValue()) : OptionalDouble.empty();
    }

    private Optional<String> text(String key) {
        JsonNode v = fields.get(key);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(PyText.str(v));
    }
}
