package org.emovit.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The language model's input for the first (prefill) pass: embeddings with the image slots filled [B, T, D], the
 * 0/1 key mask [B, T] on the model's device, and positions counted over real tokens from 0 [B, T] (left padding
 * shifts them, as Hugging Face's generate does for LLaMA). Every decoder and scorer starts from one of these.
 */
public record PrefillInputs(Tensor inputsEmbeds, Tensor attentionMask, Tensor positionIds) {

    /** The prefill of embeddings already built: positions follow the mask. The one place positions are derived. */
    public static PrefillInputs of(Tensor inputsEmbeds, Tensor attentionMask) {
        Tensor mask = attentionMask.to(inputsEmbeds.device(), ScalarType.Long);
        return new PrefillInputs(inputsEmbeds, mask, Ops.positionsFromMask(mask));
    }

    public int batchSize() {
        return (int) inputsEmbeds.size(0);
    }

    public int length() {
        return (int) inputsEmbeds.size(1);
    }

    /** Rows [from, to) of the batch (views). */
    public PrefillInputs rows(int from, int to) {
        return new PrefillInputs(Ops.slice(inputsEmbeds, 0, from, to), Ops.slice(attentionMask, 0, from, to),
                Ops.slice(positionIds, 0, from, to));
    }

    /** Each row's last position (where generation continues from). */
    public long[] lastPositions() {
        return Tensors.toLongs(Ops.slice(positionIds, 1, positionIds.size(1) - 1, positionIds.size(1)));
    }
}
