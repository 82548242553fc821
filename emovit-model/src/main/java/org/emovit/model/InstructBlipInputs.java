package org.emovit.model;

import org.bytedeco.pytorch.Tensor;

/**
 * What the processor produces for InstructBLIP, one row per image: the transformed pixels [B, 3, H, W], the
 * instruction for the Q-Former (ids and mask [B, Lq]), and the LLM's ids [B][T] with the image slots and the
 * prompt, left-padded, with their 0/1 mask [B, T]. {@link InstructBlip#prefillInputs} turns it into the LLM's input.
 */
public record InstructBlipInputs(Tensor pixelValues, Tensor qformerInputIds, Tensor qformerAttentionMask,
                                 long[][] inputIds, Tensor attentionMask) {

    public int batchSize() {
        return inputIds.length;
    }
}
