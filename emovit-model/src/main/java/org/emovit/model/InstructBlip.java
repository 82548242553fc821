package org.emovit.model;

import static org.emovit.model.Ops.linear;
import static org.emovit.model.Ops.slice;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * InstructBLIP: the vision encoder's features are read by the learned query tokens in the Q-Former (together
 * with the instruction), projected to the LLM's width, and placed into the image slots of the LLM's input,
 * which then predicts the answer.
 *
 * <p>Image slots: in the Hugging Face layout, the positions holding {@code image_token_index}; in the LAVIS
 * layout (no placeholder id), the first {@code num_query_tokens} positions (LAVIS prepends the queries).
 */
public final class InstructBlip implements AutoCloseable {

    /** What one forward pass produces (the names of the fixture's expected tensors). */
    public record Outputs(Tensor visionLastHiddenState, Tensor qformerQueryOutput, Tensor languageModelInputs,
                          Tensor logits) {}

    private final InstructBlipConfig config;
    private final VisionEncoder vision;
    private final Tensor queryTokens;
    private final QFormer qformer;
    private final Tensor projectionWeight;
    private final Tensor projectionBias;
    private final LlamaDecoder languageModel;
    private final List<AutoCloseable> resources;
    private final java.util.Map<String, Tensor> parameters;
    private final java.util.Set<String> packedInt8;

    /** Builds the model from a state dict whose tensors must match the config exactly (all taken, none left). */
    public InstructBlip(InstructBlipConfig config, StateDict w, List<AutoCloseable> resources) {
        this.config = config;
        this.resources = new ArrayList<>(resources);
        this.resources.add(w.linears().workspace());
        vision = new VisionEncoder(config.vision(), w);
        queryTokens = w.take("query_tokens", 1, config.numQueryTokens(), config.qformer().hiddenSize());
        qformer = new QFormer(config.qformer(), w);
        projectionWeight = w.take("language_projection.weight", config.text().hiddenSize(), config.qformer().hiddenSize());
        projectionBias = w.take("language_projection.bias", config.text().hiddenSize());
        languageModel = new LlamaDecoder(config.text(), w);
        w.requireAllTaken();
        parameters = w.parameters();
        packedInt8 = java.util.Set.copyOf(w.linears().packedKeys());
        w.linears().workspace().close();   // the scratch a load packs from; inference makes its buffer again if it needs one
    }

    /** Keys of the int8 Linear weights packed for FBGEMM (see {@link PackedInt8}); empty where none are. */
    public java.util.Set<String> packedInt8Linears() {
        return packedInt8;
    }

    /** The model's tensors under their Hugging Face names (the same tensors the modules compute with). */
    public java.util.Map<String, Tensor> namedParameters() {
        return parameters;
    }

    public InstructBlipConfig config() {
        return config;
    }

    public VisionEncoder vision() {
        return vision;
    }

    public QFormer qformer() {
        return qformer;
    }

    public LlamaDecoder languageModel() {
        return languageModel;
    }

    public ScalarType dtype() {
        return languageModel.dtype();
    }

    public Device device() {
        return languageModel.device();
    }

    /** Image features from the vision encoder, [B, 1 + patches, Dv]. */
    public Tensor encodeImage(Tensor pixelValues) {
        return vision.forward(pixelValues);
    }

    /** The Q-Former's query outputs for the image features and the instruction, [B, Q, Dq]. */
    public Tensor queryOutputs(Tensor imageFeatures, Tensor qformerInputIds, Tensor qformerAttentionMask) {
        Tensor queries = queryTokens.expand(imageFeatures.size(0), queryTokens.size(1), queryTokens.size(2));
        return qformer.forward(queries, qformerInputIds, qformerAttentionMask, imageFeatures);   // casts the features to its dtype
    }

    /** Query outputs projected to the LLM's width, [B, Q, D]: the "soft visual prompt". */
    public Tensor project(Tensor queryOutputs) {
        return linear(queryOutputs.to(projectionWeight.scalar_type()), projectionWeight, projectionBias);
    }

    /** The LLM's input embeddings: token embeddings with the projected queries in the image slots. */
    public Tensor inputEmbeddings(long[][] inputIds, Tensor languageModelInputs) {
        return ImageSlots.fill(inputIds, languageModelInputs, config.numQueryTokens(), config.imageTokenIndex(), languageModel);
    }

    /**
     * The one entry point from processed inputs to the LLM: vision encoder, instruction-aware Q-Former,
     * projection, and the projected queries placed into the image slots of the prompt's embeddings (as Hugging
     * Face's {@code get_image_features} + {@code masked_scatter}), with the mask and positions of the prefill.
     * Classification, generation, captioning, training, the server and the Spark job all start here.
     */
    public PrefillInputs prefillInputs(InstructBlipInputs inputs) {
        return prefillInputs(encodeImage(inputs.pixelValues()), inputs);
    }

    /** {@link #prefillInputs(InstructBlipInputs)} from image features already computed (the training feature cache). */
    public PrefillInputs prefillInputs(Tensor imageFeatures, InstructBlipInputs inputs) {
        Tensor projected = project(queryOutputs(imageFeatures, inputs.qformerInputIds(), inputs.qformerAttentionMask()));
        return PrefillInputs.of(inputEmbeddings(inputs.inputIds(), projected), inputs.attentionMask());
    }

    /**
     * The full forward pass of the fixture: every intermediate output and the logits [B, T, V]. Positions run
     * 0..T-1 as in Hugging Face's forward without position ids (the generation entry point counts them over the
     * mask instead; the two agree when nothing is padded).
     */
    public Outputs forward(InstructBlipInputs inputs) {
        Tensor image = encodeImage(inputs.pixelValues());
        Tensor queries = queryOutputs(image, inputs.qformerInputIds(), inputs.qformerAttentionMask());
        Tensor projected = project(queries);
        Tensor embeds = inputEmbeddings(inputs.inputIds(), projected);
        long batch = inputs.inputIds().length, length = inputs.inputIds()[0].length;
        Tensor positions = torch.arange(new Scalar(length), Tensors.options(ScalarType.Long, embeds.device()))
                .unsqueeze(0).expand(batch, length);
        Tensor hidden = languageModel.forward(embeds, inputs.attentionMask(), positions, null);
        return new Outputs(image, queries, projected, languageModel.logits(hidden));
    }

    /** {@link #forward(InstructBlipInputs)} on the fixture's named tensors. */
    public Outputs forward(Tensor pixelValues, Tensor qformerInputIds, Tensor qformerAttentionMask, long[][] inputIds,
                           Tensor attentionMask) {
        return forward(new InstructBlipInputs(pixelValues, qformerInputIds, qformerAttentionMask, inputIds, attentionMask));
    }

    /** Mean token cross-entropy of logits [B, T, V] against labels [B, T] shifted by one; -100 is ignored. */
    public static Tensor loss(Tensor logits, Tensor labels) {
        long t = logits.size(1);
        Tensor shiftedLogits = slice(logits, 1, 0, t - 1).to(ScalarType.Float);
        Tensor shiftedLabels = slice(labels.to(logits.device(), ScalarType.Long), 1, 1, t);
        return torch.cross_entropy(shiftedLogits.reshape(-1, logits.size(2)), shiftedLabels.reshape(-1));
    }

    /** Closes one of the resources early (a file none of the parameters points into any more). */
    void release(AutoCloseable resource) throws Exception {
        resources.remove(resource);
        resource.close();
    }

    @Override
    public void close() {
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception ignored) {
                // closing a read-only mapping cannot lose data
            }
        }
    }
}
