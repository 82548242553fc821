package org.emovit.data;

import org.emovit.data.Selection;

import java.util.Locale;

/** The two kinds of LLM-written instructions of the seed. */
public enum InstructionKind {
    /** One complex question needing reasoning, with a detailed answer ({@code gpt4_reasoning.py}). */
    REASONING(Selection.REASONING),
    /** Two questions about visible content and one complex question ({@code gpt4_conversation.py}). */
    CONVERSATION(Selection.CONVERSATION);

    private final Selection defaultSelection;

    InstructionKind(Selection defaultSelection) {
        this.defaultSelection = defaultSelection;
    }

    /** {@code reasoning} / {@code conversation}: the folder and file names. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The seed's images: train indices 0..99 (reasoning) or 0..999 (conversation) of each class. */
    public Selection defaultSelection() {
        return defaultSelection;
    }

    /** The project's own system prompt, shipped as a resource. */
    public String resource() {
        return "/org/emovit/data/prompts/" + label() + ".txt";
    }

    public static InstructionKind parse(String s) {
        return valueOf(s.strip().toUpperCase(Locale.ROOT));
    }
}
