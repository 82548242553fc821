package org.emovit.attribution;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.emovit.api.EmoVit;
import org.emovit.core.Emotion;
import org.emovit.core.Prompts;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipInputs;
import org.emovit.model.Tensors;
import org.emovit.model.VisionConfig;

/**
 * Where in the image an emotion comes from, two ways, on top of {@link EmoVit}'s score mode (issue 18):
 *
 * <ul>
 *   <li>{@link #gradCam}: the log-likelihood of "Predict emotion: &lt;label&gt;" after EmoVIT's instruction,
 *       back-propagated to the ViT's output tokens; gradient x activation summed over channels, ReLU, CLS dropped,
 *       normalised (Grad-CAM as used for vision transformers). The gradient is taken on a leaf copy of the ViT's
 *       output only: no weight requires grad, so none accumulates one, and the ViT itself runs without a graph.
 *       The Q-Former's and the LLM's layers are checkpointed ({@link LayerCheckpoints}): their activations are
 *       recomputed layer by layer in the backward pass instead of kept for the whole stack.</li>
 *   <li>{@link #rollout}: gradient-free, the Q-Former's cross-attention probabilities over the image tokens, averaged
 *       over heads, queries and cross-attention layers. The Q-Former sees the instruction, not the answer, so
 *       this map is the same for every emotion: it says what the model looked at, Grad-CAM says what made it
 *       answer this label.</li>
 * </ul>
 *
 * Every tensor lives in the call's scope and is freed when it returns; the result is plain Java. Not thread-safe,
 * like the model it drives.
 */
public final class Attribution {
    private final EmoVit emoVit;
    private final InstructBlip model;

    public Attribution(EmoVit emoVit) {
        this.emoVit = emoVit;
        this.model = emoVit.model();
    }

    /** Patches per side of the ViT's grid: image_size / patch_size (16 at 224 px with 14 px patches). */
    public int gridSide() {
        return gridSide(model);
    }

    static int gridSide(InstructBlip model) {
        VisionConfig v = model.config().vision();
        return v.imageSize() / v.patchSize();
    }

    /** The map of this emotion by this method. */
    public PatchMap map(RgbImage image, Emotion emotion, PatchMap.Method method) {
        return MapPass.run(pass(image, emotion, method));
    }

    /**
     * The map of this emotion by this method, as a pass to run piece by piece ({@link MapPass}): Grad-CAM as its
     * forward pass and then a piece per layer of its backward pass ({@link GradCamPass}), the rollout in one piece.
     * Nothing runs until its first piece.
     */
    public MapPass pass(RgbImage image, Emotion emotion, PatchMap.Method method) {
        return method == PatchMap.Method.GRAD_CAM ? gradCamPass(image, emotion) : MapPass.whole(() -> rollout(image, emotion));
    }

    /** Grad-CAM of this emotion's score-mode log-likelihood over the image's patches (see the class comment). */
    public PatchMap gradCam(RgbImage image, Emotion emotion) {
        return MapPass.run(gradCamPass(image, emotion));
    }

    private GradCamPass gradCamPass(RgbImage image, Emotion emotion) {
        return new GradCamPass(model, () -> inputs(image), emoVit.answer(emotion), emotion);
    }

    /**
     * Grad-CAM from inputs already encoded (one image) and the answer's token ids: what {@link #gradCam(RgbImage,
     * Emotion)} runs after the processor, for callers without a tokenizer (the benchmark at 7B shapes with random
     * weights). {@code emotion} is only recorded.
     */
    public static PatchMap gradCam(InstructBlip model, InstructBlipInputs inputs, long[] answer, Emotion emotion) {
        return MapPass.run(new GradCamPass(model, () -> inputs, answer, emotion));
    }

    /**
     * Per image token (CLS first, then the patches), the gradient of the emotion's log-likelihood with respect to
     * the ViT's output token times that token, summed over channels: the first-order change of the log-likelihood
     * when the token is scaled by (1 + eps), divided by eps. Signed; before ReLU and normalisation.
     */
    float[] gradientTimesActivation(RgbImage image, Emotion emotion) {
        GradCamPass pass = gradCamPass(image, emotion);
        MapPass.run(pass);   // runs every piece and closes the pass; its tokens stay readable
        return pass.tokens();
    }

    /** The Q-Former's cross-attention over the image's patches (see the class comment); {@code emotion} is only recorded. */
    public PatchMap rollout(RgbImage image, Emotion emotion) {
        try (PointerScope scope = new PointerScope()) {
            return rollout(model, inputs(image), emotion);
        }
    }

    /** The rollout from inputs already encoded (one image), as {@link #gradCam(InstructBlip, InstructBlipInputs, long[], Emotion)}. */
    public static PatchMap rollout(InstructBlip model, InstructBlipInputs inputs, Emotion emotion) {
        float[] sum = new float[gridSide(model) * gridSide(model) + 1];   // summed over the cross-attention layers
        int[] layers = {0};
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            model.qformer().setCrossAttentionProbe((layer, probabilities) -> {
                // [1, heads, queries, 1 + patches] -> the mean over heads and queries, per image token
                float[] mean = Tensors.toFloats(probabilities.mean(new long[] {1, 2}));
                for (int i = 0; i < sum.length; i++) {
                    sum[i] += mean[i];
                }
                layers[0]++;
            });
            try {
                model.queryOutputs(model.encodeImage(inputs.pixelValues()), inputs.qformerInputIds(), inputs.qformerAttentionMask());
            } finally {
                model.qformer().setCrossAttentionProbe(null);
            }
        }
        if (layers[0] == 0) {
            throw new IllegalStateException("the Q-Former has no cross-attention layer to read");
        }
        return PatchMap.normalised(gridSide(model), patchScores(model, sum, false), emotion, PatchMap.Method.ROLLOUT);
    }

    /** The one image with the classification instruction, as score mode processes it. */
    private InstructBlipInputs inputs(RgbImage image) {
        return emoVit.processor().encode(List.of(image), List.of(Prompts.CLASSIFICATION_INSTRUCTION));
    }

    /**
     * The patch tokens' scores, the CLS token (first) dropped: it is no place in the image. With {@code relu},
     * negative scores (patches that argue against the answer) become 0, as Grad-CAM does.
     */
    static double[] patchScores(InstructBlip model, float[] tokens, boolean relu) {
        int patches = gridSide(model) * gridSide(model);
        if (tokens.length != patches + 1) {
            throw new IllegalStateException("expected CLS + " + patches + " image tokens, got " + tokens.length);
        }
        double[] out = new double[patches];
        for (int i = 0; i < patches; i++) {
            out[i] = relu ? Math.max(0, tokens[i + 1]) : tokens[i + 1];
        }
        return out;
    }
}
