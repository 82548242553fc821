package org.emovit.data;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The caption + attributes text block of the seed's {@code cap-anno.py}, byte for byte: the caption, a blank
 * line, {@code emotion: <e>}, then — each on its own line and only when the annotation has the key — 
 * {@code brightness}, {@code colorfulness}, {@code object}, {@code facial_expression}, {@code human_action}, each
 * value as Python's {@code str()} prints it ({@code ['Toy']}, {@code 0.4}). {@code scene} is not included, and
 * the text has no trailing newline.
 */
public final class CapAnno {
    /** The optional keys, in the order the seed writes them. */
    public static final String[] KEYS = {"brightness", "colorfulness", "object", "facial_expression", "human_action"};

    private CapAnno() {
    }

    public static String block(String caption, Annotation annotation) {
        return block(caption, annotation.fields());
    }

    public static String block(String caption, ObjectNode annotation) {
        StringBuilder sb = new StringBuilder(caption);
        sb.append("\n\n").append("emotion: ").append(PyText.str(annotation.get("emotion")));
        for (String k : KEYS) {
            if (annotation.has(k)) {
                sb.append('\n').append(k).append(": ").append(PyText.str(annotation.get(k)));
            }
        }
        return sb.toString();
    }
}
