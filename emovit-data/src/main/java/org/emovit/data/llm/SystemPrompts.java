package org.emovit.data.llm;

import org.emovit.data.InstructionKind;
import org.emovit.data.PyText;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The system prompts. The project ships its own texts (resources {@code org/emovit/data/prompts/reasoning.txt}
 * and {@code conversation.txt}), written for this project with the structure and constraints of the seed's
 * prompts; the seed's {@code prompt/reasoning.txt} / {@code prompt/conversation.txt} can be given by path instead
 * and are then sent exactly as the seed sends them (read as UTF-8 text, universal newlines).
 */
public final class SystemPrompts {
    private SystemPrompts() {
    }

    /** The prompt from {@code file}, or the shipped one for {@code kind} when {@code file} is null. */
    public static String load(InstructionKind kind, Path file) throws IOException {
        if (file != null) {
            return PyText.readText(file);
        }
        return builtIn(kind);
    }

    /** The shipped prompt for a kind. */
    public static String builtIn(InstructionKind kind) {
        try (InputStream in = SystemPrompts.class.getResourceAsStream(kind.resource())) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + kind.resource());
            }
            return PyText.universalNewlines(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
