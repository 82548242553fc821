package org.emovit.data;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Map;

/**
 * Writes JSON exactly as Python's {@code json.dump(obj, f, indent=2)} does with its defaults
 * ({@code ensure_ascii=True}, separators {@code ','} and {@code ': '}, no trailing newline): the format of the
 * seed's {@code all.py} output.
 */
public final class PythonJson {
    private PythonJson() {
    }

    /** The text {@code json.dumps(v, indent=indent)} returns ({@code indent} &lt; 0: no indent, {@code ', '}). */
    public static String dumps(JsonNode v, int indent) {
        StringBuilder sb = new StringBuilder();
        write(sb, v, indent, 0);
        return sb.toString();
    }

    /** Appends one value at nesting {@code level}. */
    public static void write(StringBuilder sb, JsonNode v, int indent, int level) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            sb.append("null");
        } else if (v.isBoolean()) {
            sb.append(v.booleanValue() ? "true" : "false");
        } else if (v.isIntegralNumber()) {
            sb.append(v.bigIntegerValue().toString());
        } else if (v.isNumber()) {
            double d = v.doubleValue();
            if (Double.isNaN(d)) {
                sb.append("NaN");
            } else if (Double.isInfinite(d)) {
                sb.append(d > 0 ? "Infinity" : "-Infinity");
            } else {
                sb.append(PyText.floatRepr(d));
            }
        } else if (v.isTextual()) {
            appendString(sb, v.textValue());
        } else if (v.isArray()) {
            if (v.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < v.size(); i++) {
                separator(sb, i > 0, indent, level + 1);
                write(sb, v.get(i), indent, level + 1);
            }
            close(sb, indent, level);
            sb.append(']');
        } else if (v.isObject()) {
            if (v.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                separator(sb, !first, indent, level + 1);
                first = false;
                appendString(sb, e.getKey());
                sb.append(": ");
                write(sb, e.getValue(), indent, level + 1);
            }
            close(sb, indent, level);
            sb.append('}');
        } else {
            appendString(sb, v.asText());
        }
    }

    private static void separator(StringBuilder sb, boolean notFirst, int indent, int level) {
        if (indent >= 0) {
            if (notFirst) {
                sb.append(',');
            }
            sb.append('\n').append(" ".repeat(indent * level));
        } else if (notFirst) {
            sb.append(", ");
        }
    }

    private static void close(StringBuilder sb, int indent, int level) {
        if (indent >= 0) {
            sb.append('\n').append(" ".repeat(indent * level));
        }
    }

    /** A JSON string literal with Python's {@code ensure_ascii} escaping. */
    public static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7E) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
