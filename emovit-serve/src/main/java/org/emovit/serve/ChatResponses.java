package org.emovit.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.UUID;

/**
 * The JSON of one chat completion in OpenAI's format: the whole response, or its stream of chunks (the first
 * carries the role, each further one a piece of content, the last the finish reason, then optionally the usage).
 */
final class ChatResponses {
    private final String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
    private final long created = System.currentTimeMillis() / 1000;
    private final String model;
    private volatile boolean roleSent;

    ChatResponses(String model) {
        this.model = model;
    }

    String completion(Generation g) {
        ObjectNode root = head("chat.completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", g.text());
        message.putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(g.finishReason()));
        usage(root, g);
        return root.toString();
    }

    /** A chunk with a piece of the answer (the first also says who speaks). */
    String content(String delta) {
        Chunk c = chunk();
        c.delta().put("content", delta);
        c.choice().putNull("finish_reason");
        return c.root().toString();
    }

    String finish(String reason) {
        Chunk c = chunk();
        if (c.first()) {
            c.delta().put("content", "");
        }
        c.choice().put("finish_reason", finishReason(reason));
        return c.root().toString();
    }

    /** A streamed chunk's frame: one choice whose delta names the speaker in the stream's first chunk only. */
    private record Chunk(ObjectNode root, ObjectNode choice, ObjectNode delta, boolean first) {}

    private Chunk chunk() {
        ObjectNode root = head("chat.completion.chunk");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        boolean first = !roleSent;
        if (first) {
            roleSent = true;
            delta.put("role", "assistant");
        }
        choice.putNull("logprobs");
        return new Chunk(root, choice, delta, first);
    }

    String usageChunk(Generation g) {
        ObjectNode root = head("chat.completion.chunk");
        root.putArray("choices");
        usage(root, g);
        return root.toString();
    }

    private ObjectNode head(String object) {
        ObjectNode root = Json.object();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", model);
        return root;
    }

    private static void usage(ObjectNode root, Generation g) {
        ObjectNode u = root.putObject("usage");
        u.put("prompt_tokens", g.promptTokens());
        u.put("completion_tokens", g.completionTokens());
        u.put("total_tokens", g.promptTokens() + g.completionTokens());
    }

    private static String finishReason(String r) {
        return "length".equals(r) ? "length" : "stop";
    }
}
