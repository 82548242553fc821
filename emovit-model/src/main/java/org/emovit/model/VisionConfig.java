package org.emovit.model;

import com.fasterxml.jackson.databind.JsonNode;

/** The EVA/BLIP vision transformer's sizes (HF `vision_config`; defaults are EVA ViT-g/14 as LAVIS uses it). */
public record VisionConfig(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int imageSize,
                           int patchSize, double layerNormEps) {

    /** EVA ViT-g/14 with the last of its 40 blocks dropped, as LAVIS builds it for InstructBLIP. */
    public static VisionConfig evaVitG() {
        return new VisionConfig(1408, 6144, 39, 16, 224, 14, 1e-6);
    }

    public static VisionConfig fromJson(JsonNode n) {
        VisionConfig d = evaVitG();
        return new VisionConfig(
                Json.intOr(n, "hidden_size", d.hiddenSize),
                Json.intOr(n, "intermediate_size", d.intermediateSize),
                Json.intOr(n, "num_hidden_layers", d.numLayers),
                Json.intOr(n, "num_attention_heads", d.numHeads),
                Json.intOr(n, "image_size", d.imageSize),
                Json.intOr(n, "patch_size", d.patchSize),
                Json.doubleOr(n, "layer_norm_eps", d.layerNormEps));
    }

    public int numPatches() {
        return (imageSize / patchSize) * (imageSize / patchSize);
    }

    /** The same widths with another depth (benchmarks at ViT-g widths with few blocks). */
    public VisionConfig withLayers(int layers) {
        return new VisionConfig(hiddenSize, intermediateSize, layers, numHeads, imageSize, patchSize, layerNormEps);
    }
}
