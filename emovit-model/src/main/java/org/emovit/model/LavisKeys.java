package org.emovit.model;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names of LAVIS checkpoint tensors in the Hugging Face InstructBLIP layout, which this project uses inside.
 * The one tensor that is not a rename is the ViT's qkv bias: LAVIS keeps {@code q_bias} and {@code v_bias},
 * HF one {@code qkv.bias} = [q_bias, 0, v_bias] (see {@link InstructBlipLoader}).
 */
public final class LavisKeys {
    private LavisKeys() {}

    private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d+)\\.(.+)");

    /** EVA ViT state dict key -> HF key, or null for q_bias/v_bias (merged separately). */
    public static String vision(String key) {
        switch (key) {
            case "cls_token": return "vision_model.embeddings.class_embedding";
            case "pos_embed": return "vision_model.embeddings.position_embedding";
            case "patch_embed.proj.weight": return "vision_model.embeddings.patch_embedding.weight";
            case "patch_embed.proj.bias": return "vision_model.embeddings.patch_embedding.bias";
            default: break;
        }
        Matcher m = BLOCK.matcher(key);
        if (!m.matches()) {
            return null;
        }
        String rest = m.group(2)
                .replace("norm1.", "layer_norm1.")
                .replace("norm2.", "layer_norm2.")
                .replace("attn.qkv.", "self_attn.qkv.")
                .replace("attn.proj.", "self_attn.projection.");
        if (rest.startsWith("attn.q_bias") || rest.startsWith("attn.v_bias")) {
            return null;
        }
        return "vision_model.encoder.layers." + m.group(1) + "." + rest;
    }

    /** Block index of an EVA key ("blocks.N."), or -1. */
    public static int visionBlock(String key) {
        Matcher m = BLOCK.matcher(key);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** InstructBLIP (LAVIS blip2_vicuna_instruct) key -> HF key, or null if it is not a model tensor HF has. */
    public static String instructBlip(String key) {
        if (key.equals("query_tokens")) {
            return key;
        }
        if (key.startsWith("ln_vision.")) {
            return "vision_model.post_layernorm." + key.substring("ln_vision.".length());
        }
        if (key.startsWith("llm_proj.")) {
            return "language_projection." + key.substring("llm_proj.".length());
        }
        if (key.startsWith("Qformer.bert.")) {
            return "qformer." + key.substring("Qformer.bert.".length())
                    .replace("embeddings.LayerNorm.", "embeddings.layernorm.")
                    .replace(".attention.self.", ".attention.attention.")
                    .replace(".crossattention.self.", ".crossattention.attention.");
        }
        return null;
    }

    /** LAVIS tensors that exist in its checkpoints but not in the model (buffers, the removed LM head). */
    public static boolean ignoredInstructBlip(String key) {
        return key.endsWith("position_ids") || key.startsWith("Qformer.cls.");
    }

    /** HF key -> LAVIS key for the tensors EmoVIT tunes (Q-Former, query tokens, projection, ln_vision). */
    public static String toLavis(String hfKey) {
        if (hfKey.equals("query_tokens")) {
            return hfKey;
        }
        if (hfKey.startsWith("vision_model.post_layernorm.")) {
            return "ln_vision." + hfKey.substring("vision_model.post_layernorm.".length());
        }
        if (hfKey.startsWith("language_projection.")) {
            return "llm_proj." + hfKey.substring("language_projection.".length());
        }
        if (hfKey.startsWith("qformer.")) {
            return "Qformer.bert." + hfKey.substring("qformer.".length())
                    .replace("embeddings.layernorm.", "embeddings.LayerNorm.")
                    .replace(".attention.attention.", ".attention.self.")
                    .replace(".crossattention.attention.", ".crossattention.self.");
        }
        return null;
    }
}
