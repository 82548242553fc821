package org.emovit.train;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.emovit.model.InstructBlip;
import org.emovit.model.PrefillInputs;

/**
 * The LM loss on the answer tokens, from the frozen ViT's block outputs through the tuned ln_vision, Q-Former
 * and projection (via the model's one prefill entry point) into the frozen LLM. Training and validation both
 * compute it here, so they cannot drift apart.
 */
public final class TrainingLoss {
    private final InstructBlip model;

    public TrainingLoss(InstructBlip model) {
        this.model = model;
    }

    /** The frozen ViT's blocks on these pixels, under no-grad: its features need no graph. */
    public static Tensor frozenBlocks(InstructBlip model, Tensor pixels) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            return model.vision().encodeBlocks(pixels).detach();
        }
    }

    public Tensor fromPixels(Tensor pixels, Batcher.Batch b) {
        return fromBlocks(frozenBlocks(model, pixels), b);
    }

    public Tensor fromBlocks(Tensor blocks, Batcher.Batch b) {
        Tensor features = model.vision().finalNorm(blocks);   // ln_vision is tuned, the blocks are not
        // Right-padded rows: the mask-derived positions equal 0..T-1 on every real token, as LAVIS's forward.
        PrefillInputs prefill = model.prefillInputs(features, b.inputs(null));
        Tensor hidden = model.languageModel().forward(prefill.inputsEmbeds(), prefill.attentionMask(), prefill.positionIds(), null);
        return InstructBlip.loss(model.languageModel().logits(hidden), b.labels());
    }
}
