package org.emovit.model;

import static org.emovit.model.Ops.linear;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * BLIP-2 with OPT (HF `Blip2ForConditionalGeneration`, LAVIS `blip2_opt`): EmoVIT's captioner. The same
 * vision encoder as InstructBLIP, a Q-Former that reads only the image (no instruction), a projection, and OPT;
 * the projected queries fill the image placeholder positions of OPT's input.
 */
public final class Blip2Opt implements AutoCloseable {

    public record Outputs(Tensor qformerLastHiddenState, Tensor languageModelInputs, Tensor logits) {}

    private final Blip2OptConfig config;
    private final VisionEncoder vision;
    private final Tensor queryTokens;
    private final QFormer qformer;
    private final Tensor projectionWeight;
    private final Tensor projectionBias;
    private final OptDecoder languageModel;
    private final List<AutoCloseable> resources;

    public Blip2Opt(Blip2OptConfig config, StateDict w, List<AutoCloseable> resources) {
        this.config = config;
        this.resources = new ArrayList<>(resources);
        vision = new VisionEncoder(config.vision(), w);
        queryTokens = w.take("query_tokens", 1, config.numQueryTokens(), config.qformer().hiddenSize());
        qformer = new QFormer(config.qformer(), w);
        projectionWeight = w.take("language_projection.weight", config.text().hiddenSize(), config.qformer().hiddenSize());
        projectionBias = w.take("language_projection.bias", config.text().hiddenSize());
        languageModel = new OptDecoder(config.text(), w, "language_model.");
        w.requireAllTaken();
    }

    public Blip2OptConfig config() {
        return config;
    }

    public OptDecoder languageModel() {
        return languageModel;
    }

    /** Projected query outputs [B, Q, D] for the images. */
    public Tensor imagePrompt(Tensor pixelValues) {
        Tensor image = vision.forward(pixelValues);
        Tensor queries = queryTokens.expand(image.size(0), queryTokens.size(1), queryTokens.size(2));
        return linear(qformer.forward(queries, null, null, image), projectionWeight, projectionBias);
    }

    /** OPT's input embeddings with the projected queries in the placeholder positions (or the first Q positions). */
    public Tensor inputEmbeddings(long[][] inputIds, Tensor languageModelInputs) {
        return ImageSlots.fill(inputIds, languageModelInputs, config.numQueryTokens(), config.imageTokenIndex(), languageModel);
    }

    /**
     * The one entry point from processed inputs to OPT's prefill: the image-only Q-Former's queries, projected
     * and placed into the image slots, with the mask and mask-derived positions (as {@link InstructBlip#prefillInputs}).
     */
    public PrefillInputs prefillInputs(Tensor pixelValues, long[][] inputIds, Tensor attentionMask) {
        return PrefillInputs.of(inputEmbeddings(inputIds, imagePrompt(pixelValues)), attentionMask);
    }

    /** The fixture's forward: Q-Former output, projected inputs and OPT's logits. */
    public Outputs forward(Tensor pixelValues, long[][] inputIds, Tensor attentionMask) {
        Tensor image = vision.forward(pixelValues);
        Tensor queries = queryTokens.expand(image.size(0), queryTokens.size(1), queryTokens.size(2));
        Tensor qOut = qformer.forward(queries, null, null, image);
        Tensor projected = linear(qOut, projectionWeight, projectionBias);
        Tensor embeds = inputEmbeddings(inputIds, projected);
        Tensor mask = attentionMask.to(embeds.device(), ScalarType.Long);
        Tensor positions = Ops.positionsFromMask(mask);
        Tensor hidden = languageModel.forward(embeds, mask, positions, null);
        return new Outputs(qOut, projected, languageModel.logits(hidden));
    }

    @Override
    public void close() {
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception ignored) {
                // read-only mappings
            }
        }
    }
}
