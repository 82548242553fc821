package org.emovit.model;

import com.fasterxml.jackson.databind.JsonNode;

/** The instruction-aware Q-Former's sizes (HF `qformer_config`; defaults are BERT-base plus `[DEC]`, as LAVIS). */
public record QFormerConfig(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int vocabSize,
                            int maxPositions, double layerNormEps, int crossAttentionFrequency,
                            int encoderHiddenSize, int padTokenId, boolean textInput) {

    public static QFormerConfig bertBase() {
        return new QFormerConfig(768, 3072, 12, 12, 30523, 512, 1e-12, 2, 1408, 0, true);
    }

    public static QFormerConfig fromJson(JsonNode n) {
        QFormerConfig d = bertBase();
        return new QFormerConfig(
                Json.intOr(n, "hidden_size", d.hiddenSize),
                Json.intOr(n, "intermediate_size", d.intermediateSize),
                Json.intOr(n, "num_hidden_layers", d.numLayers),
                Json.intOr(n, "num_attention_heads", d.numHeads),
                Json.intOr(n, "vocab_size", d.vocabSize),
                Json.intOr(n, "max_position_embeddings", d.maxPositions),
                Json.doubleOr(n, "layer_norm_eps", d.layerNormEps),
                Json.intOr(n, "cross_attention_frequency", d.crossAttentionFrequency),
                Json.intOr(n, "encoder_hidden_size", d.encoderHiddenSize),
                Json.intOr(n, "pad_token_id", d.padTokenId),
                // BLIP-2's Q-Former reads no text (HF use_qformer_text_input=false); InstructBLIP's always does
                n.path("use_qformer_text_input").asBoolean(true));
    }

    public boolean hasCrossAttention(int layer) {
        return layer % crossAttentionFrequency == 0;
    }
}
