package org.emovit.devtools;

import org.emovit.model.InstructBlipConfig;
import org.emovit.model.LlamaConfig;
import org.emovit.model.QFormerConfig;
import org.emovit.model.VisionConfig;

/**
 * The matrix-multiply work of each stage of one forward, counted from the config (2 FLOPs per multiply-add):
 * the linear layers and the attention products (scores and weighted values, over the full square the kernels
 * compute, masked or not). Element-wise work is left out: it is a few percent and memory-bound, so a stage's
 * GFLOP/s against the machine's matmul rate says how much time goes to anything but matmuls.
 *
 * @param vision  the ViT over {@code batch} images (patch embedding, blocks)
 * @param qformer the Q-Former over queries + instruction (self, cross-attention, both feed-forwards) and the projection
 * @param prefill the LLM over query slots + prompt, and the LM head at the last position
 */
record StageWork(double vision, double qformer, double prefill) {

    static StageWork of(InstructBlipConfig c, long batch, long qformerTextTokens, long promptTokens) {
        return new StageWork(vision(c.vision(), batch), qformer(c, batch, qformerTextTokens),
                prefill(c.text(), batch, c.numQueryTokens() + promptTokens));
    }

    static double vision(VisionConfig v, long batch) {
        double d = v.hiddenSize(), ff = v.intermediateSize(), tokens = v.numPatches() + 1;
        double patch = 2.0 * v.numPatches() * d * 3 * v.patchSize() * v.patchSize();
        double perLayer = 2.0 * tokens * (3 * d * d + d * d + 2 * d * ff) + 2.0 * 2 * tokens * tokens * d;
        return batch * (patch + v.numLayers() * perLayer);
    }

    static double qformer(InstructBlipConfig c, long batch, long textTokens) {
        QFormerConfig q = c.qformer();
        double d = q.hiddenSize(), ff = q.intermediateSize(), queries = c.numQueryTokens();
        double all = queries + (q.textInput() ? textTokens : 0);
        double image = c.vision().numPatches() + 1, enc = q.encoderHiddenSize();
        double total = 0;
        for (int i = 0; i < q.numLayers(); i++) {
            total += 2.0 * all * 4 * d * d + 2.0 * 2 * all * all * d;       // self-attention: q, k, v, out; scores, values
            if (q.hasCrossAttention(i)) {
                total += 2.0 * queries * 2 * d * d + 2.0 * image * 2 * enc * d  // q, out over the queries; k, v over the image
                        + 2.0 * 2 * queries * image * d;
            }
            total += 2.0 * all * 2 * d * ff;                                   // query and text feed-forwards
        }
        total += 2.0 * queries * d * c.text().hiddenSize();                    // language projection
        return batch * total;
    }

    static double prefill(LlamaConfig t, long batch, long tokens) {
        double d = t.hiddenSize(), kv = (double) t.numKvHeads() * t.headDim(), ff = t.intermediateSize();
        double perLayer = 2.0 * tokens * (2 * d * d + 2 * d * kv + 3 * d * ff) + 2.0 * 2 * tokens * tokens * t.numHeads() * t.headDim();
        return batch * (t.numLayers() * perLayer + 2.0 * d * t.vocabSize());
    }

    /**
     * Bytes a decode step must read per token: every LLM weight but the embedding table (one row of it), i.e. the
     * layers and the LM head, plus the KV cache of {@code contextTokens} positions.
     */
    static double decodeBytes(LlamaConfig t, long batch, long contextTokens, int elementBytes, double linearBytes) {
        double d = t.hiddenSize(), kv = (double) t.numKvHeads() * t.headDim(), ff = t.intermediateSize();
        // the layers' Linears and the LM head (int8 alike when quantised), then the norms and the KV cache
        double linears = t.numLayers() * (2 * d * d + 2 * d * kv + 3 * d * ff) + d * t.vocabSize();
        double others = t.numLayers() * 2 * d + d;
        double cache = batch * t.numLayers() * 2.0 * contextTokens * kv;
        return linears * linearBytes + (others + cache) * elementBytes;
    }
}
