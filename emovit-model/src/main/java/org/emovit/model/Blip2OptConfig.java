package org.emovit.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * BLIP-2 OPT's sizes (HF {@code Blip2Config}): the vision encoder and Q-Former as InstructBLIP's records, OPT's
 * own, the query count and the image placeholder id (-1: the first positions, as LAVIS prepends them).
 */
public record Blip2OptConfig(VisionConfig vision, QFormerConfig qformer, OptConfig text, int numQueryTokens, int imageTokenIndex) {

    public static Blip2OptConfig fromJson(JsonNode n) {
        return new Blip2OptConfig(VisionConfig.fromJson(n.path("vision_config")), QFormerConfig.fromJson(n.path("qformer_config")),
                OptConfig.fromJson(n.path("text_config")), Json.intOr(n, "num_query_tokens", 32),
                Json.intOr(n, "image_token_index", -1));
    }

    /** A config.json; BLIP-2's Q-Former reads no instruction, whatever the file leaves out. */
    public static Blip2OptConfig read(Path configFile) {
        try {
            JsonNode n = new ObjectMapper().readTree(configFile.toFile());
            if (n.path("qformer_config") instanceof ObjectNode q) {
                q.put("use_qformer_text_input", q.path("use_qformer_text_input").asBoolean(false));
            }
            return fromJson(n);
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot read BLIP-2 config " + configFile + ": " + e.getMessage(), e);
        }
    }
}
