package org.emovit.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Puts the projected query outputs into the language model's input: the positions holding the image
 * placeholder id (HF layout), or the first Q positions when there is none (LAVIS prepends the queries). One
 * gather over [queries ++ token embeddings], so it is differentiable and works for any slot layout.
 */
final class ImageSlots {
    private ImageSlots() {}

    static Tensor fill(long[][] inputIds, Tensor languageModelInputs, int q, int imageTokenIndex, LanguageModel lm) {
        int batch = inputIds.length, length = inputIds[0].length;
        long[][] tokens = new long[batch][length];
        long[][] gatherIndex = new long[batch][length];
        for (int b = 0; b < batch; b++) {
            int slot = 0;
            for (int j = 0; j < length; j++) {
                boolean image = imageTokenIndex >= 0 ? inputIds[b][j] == imageTokenIndex : j < q;
                if (image) {
                    if (slot == q) {
                        throw new IllegalArgumentException("sample " + b + " has more than " + q + " image placeholder tokens ("
                                + imageTokenIndex + ")");
                    }
                    gatherIndex[b][j] = slot++;
                } else {
                    long id = inputIds[b][j];
                    if (id < 0 || id >= lm.vocabSize()) {
                        throw new IllegalArgumentException("sample " + b + " position " + j + ": token id " + id
                                + " is outside the vocabulary of " + lm.vocabSize());
                    }
                    tokens[b][j] = id;
                    gatherIndex[b][j] = q + j;
                }
            }
            if (slot != q) {
                throw new IllegalArgumentException("sample " + b + " has " + slot + " image slots but the model has " + q
                        + " query tokens" + (imageTokenIndex >= 0 ? " (placeholder id " + imageTokenIndex + ")"
                        : " (LAVIS layout: the first " + q + " positions)"));
            }
        }
        Tensor text = lm.embed(Tensors.fromLongs(tokens));
        Tensor combined = Ops.cat(1, languageModelInputs.to(text.device(), text.scalar_type()), text);
        Tensor index = Tensors.fromLongs(gatherIndex).to(text.device(), ScalarType.Long).unsqueeze(-1)
                .expand(batch, length, text.size(2));
        return combined.gather(1, index);
    }
}
