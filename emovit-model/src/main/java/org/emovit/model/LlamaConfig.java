package org.emovit.model;

import com.fasterxml.jackson.databind.JsonNode;

/** The LLaMA decoder's sizes (a LLaMA `config.json`, or InstructBLIP's `text_config`; defaults are Vicuna-7B). */
public record LlamaConfig(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads,
                          int headDim, int vocabSize, double rmsNormEps, double ropeTheta, int maxPositions,
                          boolean tieWordEmbeddings, int bosTokenId, int eosTokenId, int padTokenId) {

    /** Vicuna-7B v1.1 with LAVIS's `[PAD]` row (32001 tokens). */
    public static LlamaConfig vicuna7b() {
        return new LlamaConfig(4096, 11008, 32, 32, 32, 128, 32001, 1e-6, 10000.0, 2048, false, 2, 2, 32000);
    }

    public static LlamaConfig fromJson(JsonNode n) {
        LlamaConfig d = vicuna7b();
        int hidden = Json.intOr(n, "hidden_size", d.hiddenSize);
        int heads = Json.intOr(n, "num_attention_heads", d.numHeads);
        double theta = n.path("rope_parameters").has("rope_theta")
                ? n.path("rope_parameters").path("rope_theta").asDouble()
                : Json.doubleOr(n, "rope_theta", d.ropeTheta);
        return new LlamaConfig(
                hidden,
                Json.intOr(n, "intermediate_size", d.intermediateSize),
                Json.intOr(n, "num_hidden_layers", d.numLayers),
                heads,
                Json.intOr(n, "num_key_value_heads", heads),
                Json.intOr(n, "head_dim", hidden / heads),
                Json.intOr(n, "vocab_size", d.vocabSize),
                Json.doubleOr(n, "rms_norm_eps", d.rmsNormEps),
                theta,
                Json.intOr(n, "max_position_embeddings", d.maxPositions),
                n.path("tie_word_embeddings").asBoolean(false),
                Json.intOr(n, "bos_token_id", d.bosTokenId),
                Json.intOr(n, "eos_token_id", d.eosTokenId),
                Json.intOr(n, "pad_token_id", -1));
    }

    public LlamaConfig withVocabSize(int vocab) {
        return new LlamaConfig(hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocab,
                rmsNormEps, ropeTheta, maxPositions, tieWordEmbeddings, bosTokenId, eosTokenId, padTokenId);
    }

    /** The same widths with another depth (benchmarks at 7B widths with few layers). */
    public LlamaConfig withLayers(int layers) {
        return new LlamaConfig(hiddenSize, intermediateSize, layers, numHeads, numKvHeads, headDim, vocabSize,
                rmsNormEps, ropeTheta, maxPositions, tieWordEmbeddings, bosTokenId, eosTokenId, padTokenId);
    }
}
