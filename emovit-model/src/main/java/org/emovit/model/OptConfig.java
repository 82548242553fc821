package org.emovit.model;

import com.fasterxml.jackson.databind.JsonNode;

/** OPT's sizes (HF `OPTConfig`; the defaults are OPT-2.7b, BLIP-2's captioning decoder in EmoVIT's caption.py). */
public record OptConfig(int hiddenSize, int ffnDim, int numLayers, int numHeads, int vocabSize, int maxPositions,
                        int wordEmbedProjDim, boolean layerNormBefore, boolean finalLayerNorm, int bosTokenId,
                        int eosTokenId, int padTokenId) {

    public static OptConfig opt27b() {
        return new OptConfig(2560, 10240, 32, 32, 50272, 2048, 2560, true, true, 2, 2, 1);
    }

    public static OptConfig fromJson(JsonNode n) {
        OptConfig d = opt27b();
        int hidden = Json.intOr(n, "hidden_size", d.hiddenSize);
        return new OptConfig(hidden,
                Json.intOr(n, "ffn_dim", d.ffnDim),
                Json.intOr(n, "num_hidden_layers", d.numLayers),
                Json.intOr(n, "num_attention_heads", d.numHeads),
                Json.intOr(n, "vocab_size", d.vocabSize),
                Json.intOr(n, "max_position_embeddings", d.maxPositions),
                Json.intOr(n, "word_embed_proj_dim", hidden),
                n.path("do_layer_norm_before").asBoolean(true),
                !n.path("_remove_final_layer_norm").asBoolean(false),
                Json.intOr(n, "bos_token_id", d.bosTokenId),
                Json.intOr(n, "eos_token_id", d.eosTokenId),
                Json.intOr(n, "pad_token_id", d.padTokenId));
    }
}
