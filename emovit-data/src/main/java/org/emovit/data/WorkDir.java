package org.emovit.data;

import org.emovit.data.InstructionKind;

import java.nio.file.Path;

/**
 * Where the pipeline's files go, in the seed's layout ({@code caption/<emotion>/<name>.txt},
 * {@code cap-ano/<emotion>/<name>.txt}, {@code reasoning/<emotion>/<name>.txt},
 * {@code conversation/<emotion>/<name>.txt}) plus one JSONL per stage and the LLM cache, cost logs and
 * assembled sets.
 */
public record WorkDir(Path root) {

    public Path caption(SplitEntry e) {
        return root.resolve("caption").resolve(e.emotion().label()).resolve(e.name() + ".txt");
    }

    /** One record per captioned image. */
    public Path captionsJsonl() {
        return root.resolve("captions.jsonl");
    }

    public Path captionErrors() {
        return root.resolve("caption-errors.jsonl");
    }

    public Path capAno(SplitEntry e) {
        return root.resolve("cap-ano").resolve(e.emotion().label()).resolve(e.name() + ".txt");
    }

    /** The raw reply as the seed saves it. */
    public Path reply(InstructionKind kind, SplitEntry e) {
        return replyFolder(kind).resolve(e.emotion().label()).resolve(e.name() + ".txt");
    }

    public Path replyFolder(InstructionKind kind) {
        return root.resolve(kind.label());
    }

    /** One record per image with its reply ({@code reasoning.jsonl}, {@code conversation.jsonl}). */
    public Path replies(InstructionKind kind) {
        return root.resolve(kind.label() + ".jsonl");
    }

    /** Items that failed, one record per failure. */
    public Path errors(InstructionKind kind) {
        return root.resolve(kind.label() + "-errors.jsonl");
    }

    /** One record per HTTP request with its token counts. */
    public Path costLog(InstructionKind kind) {
        return root.resolve(kind.label() + "-cost.jsonl");
    }

    public Path llmCache() {
        return root.resolve("llm-cache");
    }

    public Path allJson() {
        return root.resolve("all.json");
    }

    public Path allJsonl() {
        return root.resolve("all.jsonl");
    }

    public Path summary() {
        return root.resolve("summary.json");
    }
}
