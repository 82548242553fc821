package org.emovit.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The whole model's configuration. {@code imageTokenIndex} is the placeholder id whose positions receive the
 * projected query outputs (HF layout); -1 means the LAVIS convention: the first {@code numQueryTokens}
 * positions of the LLM input are the image slots.
 */
public record InstructBlipConfig(VisionConfig vision, QFormerConfig qformer, LlamaConfig text, int numQueryTokens,
                                 int imageTokenIndex) {

    public static InstructBlipConfig fromJson(JsonNode n) {
        QFormerConfig q = QFormerConfig.fromJson(n.path("qformer_config"));
        return new InstructBlipConfig(
                VisionConfig.fromJson(n.path("vision_config")),
                q,
                LlamaConfig.fromJson(n.path("text_config")),
                Json.intOr(n, "num_query_tokens", 32),
                Json.intOr(n, "image_token_index", -1));
    }

    public static InstructBlipConfig read(Path configJson) {
        try {
            return fromJson(new ObjectMapper().readTree(configJson.toFile()));
        } catch (IOException e) {
            throw new ModelLoadException("cannot read model config " + configJson + ": " + e.getMessage(), e);
        }
    }

    /** LAVIS `blip2_vicuna_instruct` / `vicuna7b`: EVA ViT-g (39 blocks), BERT-base Q-Former, 32 queries, Vicuna-7B. */
    public static InstructBlipConfig vicuna7b() {
        return new InstructBlipConfig(VisionConfig.evaVitG(), QFormerConfig.bertBase(), LlamaConfig.vicuna7b(), 32, -1);
    }

    /** Named presets for the LAVIS layout, which ships no config of its own. */
    public static InstructBlipConfig preset(String name) {
        return switch (name) {
            case "vicuna7b" -> vicuna7b();
            default -> throw new ModelLoadException("unknown model preset '" + name + "' (known: vicuna7b)");
        };
    }

    public InstructBlipConfig withText(LlamaConfig t) {
        return new InstructBlipConfig(vision, qformer, t, numQueryTokens, imageTokenIndex);
    }

    public InstructBlipConfig withVision(VisionConfig v) {
        return new InstructBlipConfig(v, qformer, text, numQueryTokens, imageTokenIndex);
    }

    public InstructBlipConfig withImageTokenIndex(int index) {
        return new InstructBlipConfig(vision, qformer, text, numQueryTokens, index);
    }
}
