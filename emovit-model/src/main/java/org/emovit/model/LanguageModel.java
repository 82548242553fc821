package org.emovit.model;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** A causal decoder the generation code can drive (Vicuna/LLaMA for InstructBLIP, OPT for BLIP-2 captions). */
public interface LanguageModel {

    Tensor embed(Tensor ids);

    /**
     * @param inputsEmbeds [B, T, D] embeddings of the new positions
     * @param keyMask      [B, T] 0/1 mask of the new positions, appended to the cache's
     * @param positionIds  [B, T] positions counted over real tokens from 0 (left padding shifts them)
     * @param cache        keys and values of earlier positions (updated), or null
     * @return final hidden states [B, T, D]
     */
    Tensor forward(Tensor inputsEmbeds, Tensor keyMask, Tensor positionIds, AttentionCache cache);

    Tensor logits(Tensor hidden);

    int numLayers();

    int vocabSize();

    ScalarType dtype();

    Device device();
}
