package org.emovit.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import org.emovit.core.Prompts;
import org.emovit.generate.GenerationConfig;
import org.emovit.generate.Sampling;

/**
 * An OpenAI chat completion request read as InstructBLIP can answer it. InstructBLIP takes one image and one
 * instruction, with no chat template (spec: the processor puts the instruction after the image slots as it is), so
 * the instruction is the text of the last user message and the image is the one image_url part of the
 * conversation; earlier text turns are not part of the prompt. A user message with no text asks EmoVIT's emotion
 * instruction, as `emovit ask` does without a question. Decoding defaults are EmoVIT's (greedy, repetition
 * penalty 5, 256 tokens); temperature > 0 samples with top_p and seed.
 *
 * @param imageUrl     the image (data: or http(s) URL)
 * @param imageParam   where it was, for error messages
 * @param prompt       the instruction
 * @param config       how to decode
 * @param stop         stop sequences (up to 4)
 * @param stream       answer as server-sent events
 * @param includeUsage stream_options.include_usage: a last chunk with the token counts
 */
record ChatRequest(String imageUrl, String imageParam, String prompt, GenerationConfig config, List<String> stop,
                   boolean stream, boolean includeUsage) {

    static final int MAX_TOKENS_LIMIT = 4096;
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    /**
     * The fields read below. Any other is refused by name, as OpenAI refuses an argument it does not know, rather
     * than answered as if it had not been sent. "model" and "user" are read and do not change the answer: one model
     * is served under its own name, and "user" is the caller's label for OpenAI's abuse monitoring.
     */
    private static final Set<String> FIELDS = Set.of("model", "user", "messages", "n", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "seed", "stop", "stream", "stream_options", "frequency_penalty", "presence_penalty");

    static ChatRequest parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest(null, "the body must be a JSON object");
        }
        body.fieldNames().forEachRemaining(f -> {
            if (!FIELDS.contains(f)) {
                throw ApiException.badRequest(f, "not supported (supported: " + String.join(", ", new TreeSet<>(FIELDS)) + ")");
            }
        });
        for (String penalty : List.of("frequency_penalty", "presence_penalty")) {
            // OpenAI's count-based penalties are not implemented: EmoVIT decodes with HF's repetition penalty instead
            if (number(body, penalty, 0, -2, 2) != 0) {
                throw ApiException.badRequest(penalty, "only 0 is supported (answers use EmoVIT's repetition penalty of "
                        + GenerationConfig.emovit().repetitionPenalty() + ")");
            }
        }
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.badRequest("messages", "must be a non-empty array");
        }
        String imageUrl = null, imageParam = null, prompt = null;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            String role = text(m, "role", where);
            if (!ROLES.contains(role)) {
                throw ApiException.badRequest(where + ".role", "unknown role '" + role + "'");
            }
            JsonNode content = m.get("content");
            StringBuilder textOf = new StringBuilder();
            if (content == null || content.isNull()) {
                // an assistant turn may have no content
            } else if (content.isTextual()) {
                textOf.append(content.asText());
            } else if (content.isArray()) {
                for (int p = 0; p < content.size(); p++) {
                    JsonNode part = content.get(p);
                    String at = where + ".content[" + p + "]";
                    String type = text(part, "type", at);
                    switch (type) {
                        case "text" -> {
                            if (textOf.length() > 0) {
                                textOf.append('\n');
                            }
                            textOf.append(text(part, "text", at));
                        }
                        case "image_url" -> {
                            if (!role.equals("user")) {
                                throw ApiException.badRequest(at, "images are accepted in user messages only");
                            }
                            if (imageUrl != null) {
                                throw ApiException.badRequest(at, "only one image per request (InstructBLIP answers about one image)");
                            }
                            JsonNode iu = part.get("image_url");
                            imageUrl = iu != null && iu.isTextual() ? iu.asText() : text(iu, "url", at + ".image_url");
                            imageParam = at + ".image_url.url";
                        }
                        default -> throw ApiException.badRequest(at + ".type", "must be text or image_url, not '" + type + "'");
                    }
                }
            } else {
                throw ApiException.badRequest(where + ".content", "must be a string or an array of parts");
            }
            if (role.equals("user")) {
                prompt = textOf.toString();
            }
        }
        if (prompt == null) {
            throw ApiException.badRequest("messages", "needs a user message");
        }
        if (imageUrl == null) {
            throw ApiException.badRequest("messages", "needs an image: a user content part {\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/...;base64,...\"}}");
        }
        if (prompt.isBlank()) {
            prompt = Prompts.CLASSIFICATION_INSTRUCTION;
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && n.asInt(-1) != 1) {
            throw ApiException.badRequest("n", "only n = 1 is supported");
        }
        int maxTokens = GenerationConfig.emovit().maxNewTokens();
        for (String field : List.of("max_tokens", "max_completion_tokens")) {
            JsonNode v = body.get(field);
            if (v != null && !v.isNull()) {
                if (!v.canConvertToInt() || v.asInt() < 1 || v.asInt() > MAX_TOKENS_LIMIT) {
                    throw ApiException.badRequest(field, "must be an integer from 1 to " + MAX_TOKENS_LIMIT);
                }
                maxTokens = v.asInt();
            }
        }
        GenerationConfig config = GenerationConfig.emovit().withMaxNewTokens(maxTokens).withSampling(sampling(body));
        boolean stream = bool(body, "stream");
        JsonNode streamOptions = body.get("stream_options");
        if (!stream && streamOptions != null && !streamOptions.isNull()) {
            throw ApiException.badRequest("stream_options", "only applies with stream: true");   // as OpenAI answers it
        }
        return new ChatRequest(imageUrl, imageParam, prompt, config, stops(body.get("stop")), stream, includeUsage(streamOptions));
    }

    /** stream_options: {"include_usage": true|false}, or absent. */
    private static boolean includeUsage(JsonNode options) {
        if (options == null || options.isNull()) {
            return false;
        }
        if (!options.isObject()) {
            throw ApiException.badRequest("stream_options", "must be an object {\"include_usage\": true|false}");
        }
        options.fieldNames().forEachRemaining(f -> {
            if (!f.equals("include_usage")) {
                throw ApiException.badRequest("stream_options." + f, "not supported (only include_usage)");
            }
        });
        return bool(options, "include_usage", "stream_options.include_usage");
    }

    /** Null (greedy) unless temperature > 0. */
    private static Sampling sampling(JsonNode body) {
        double temperature = number(body, "temperature", 0, 0, 2);
        double topP = number(body, "top_p", 1, Double.MIN_VALUE, 1);
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull() && !seed.canConvertToLong()) {
            throw ApiException.badRequest("seed", "must be an integer");
        }
        if (temperature == 0) {
            if (topP != 1) {
                throw ApiException.badRequest("top_p", "only applies with temperature > 0 (at 0 the answer is greedy)");
            }
            return null;   // a seed is accepted: a greedy answer is already the same every time
        }
        long s = seed == null || seed.isNull() ? ThreadLocalRandom.current().nextLong() : seed.asLong();
        return new Sampling(temperature, topP, s);
    }

    private static List<String> stops(JsonNode stop) {
        List<String> out = new ArrayList<>();
        if (stop == null || stop.isNull()) {
            return out;
        }
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray() && stop.size() <= 4) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw ApiException.badRequest("stop", "must be a string or an array of up to 4 strings");
                }
                out.add(s.asText());
            }
        } else {
            throw ApiException.badRequest("stop", "must be a string or an array of up to 4 strings");
        }
        if (out.stream().anyMatch(String::isEmpty)) {
            throw ApiException.badRequest("stop", "a stop sequence cannot be empty");
        }
        return out;
    }

    private static double number(JsonNode body, String field, double fallback, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
            throw ApiException.badRequest(field, "must be a number from " + (min == Double.MIN_VALUE ? "above 0" : min) + " to " + max);
        }
        return v.asDouble();
    }

    private static boolean bool(JsonNode body, String field) {
        return bool(body, field, field);
    }

    private static boolean bool(JsonNode body, String field, String param) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw ApiException.badRequest(param, "must be true or false");
        }
        return v.asBoolean();
    }

    private static String text(JsonNode node, String field, String where) {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || !v.isTextual()) {
            throw ApiException.badRequest(where + "." + field, "missing or not a string");
        }
        return v.asText();
    }
}
