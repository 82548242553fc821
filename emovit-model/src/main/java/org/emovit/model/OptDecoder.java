package org.emovit.model;

import static org.emovit.model.Ops.attention;
import static org.emovit.model.Ops.cat;
import static org.emovit.model.Ops.layerNorm;
import static org.emovit.model.Ops.linear;
import static org.emovit.model.Ops.mergeHeads;
import static org.emovit.model.Ops.splitHeads;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The OPT decoder (HF `OPTForCausalLM`), BLIP-2's language model in EmoVIT's captioning step: learned absolute
 * positions (looked up at position + 2, HF's offset), pre-LN blocks with biased attention projections and a
 * ReLU feed-forward, a final LayerNorm, and the LM head tied to the token embeddings.
 */
public final class OptDecoder implements LanguageModel {
    private static final int POSITION_OFFSET = 2;
    private static final double LAYER_NORM_EPS = 1e-5;

    private record Layer(Tensor attnNormWeight, Tensor attnNormBias, Tensor qWeight, Tensor qBias, Tensor kWeight,
                         Tensor kBias, Tensor vWeight, Tensor vBias, Tensor outWeight, Tensor outBias,
                         Tensor ffnNormWeight, Tensor ffnNormBias, Tensor fc1Weight, Tensor fc1Bias,
                         Tensor fc2Weight, Tensor fc2Bias) {}

    private final OptConfig config;
    private final Tensor embedTokens;
    private final Tensor embedPositions;
    private final List<Layer> layers = new ArrayList<>();
    private final Tensor finalNormWeight;
    private final Tensor finalNormBias;
    private final Tensor lmHead;

    public OptDecoder(OptConfig config, StateDict w, String prefix) {
        if (config.wordEmbedProjDim() != config.hiddenSize() || !config.layerNormBefore()) {
            throw new ModelLoadException("OPT variants with project_in/out or post-LN (OPT-350m) are not supported");
        }
        this.config = config;
        long d = config.hiddenSize(), ff = config.ffnDim();
        String p = prefix + "model.decoder.";
        embedTokens = w.take(p + "embed_tokens.weight", config.vocabSize(), d);
        embedPositions = w.take(p + "embed_positions.weight", config.maxPositions() + POSITION_OFFSET, d);
        for (int i = 0; i < config.numLayers(); i++) {
            String l = p + "layers." + i + ".";
            layers.add(new Layer(
                    w.take(l + "self_attn_layer_norm.weight", d), w.take(l + "self_attn_layer_norm.bias", d),
                    w.take(l + "self_attn.q_proj.weight", d, d), w.take(l + "self_attn.q_proj.bias", d),
                    w.take(l + "self_attn.k_proj.weight", d, d), w.take(l + "self_attn.k_proj.bias", d),
                    w.take(l + "self_attn.v_proj.weight", d, d), w.take(l + "self_attn.v_proj.bias", d),
                    w.take(l + "self_attn.out_proj.weight", d, d), w.take(l + "self_attn.out_proj.bias", d),
                    w.take(l + "final_layer_norm.weight", d), w.take(l + "final_layer_norm.bias", d),
                    w.take(l + "fc1.weight", ff, d), w.take(l + "fc1.bias", ff),
                    w.take(l + "fc2.weight", d, ff), w.take(l + "fc2.bias", d)));
        }
        finalNormWeight = config.finalLayerNorm() ? w.take(p + "final_layer_norm.weight", d) : null;
        finalNormBias = config.finalLayerNorm() ? w.take(p + "final_layer_norm.bias", d) : null;
        lmHead = w.contains(prefix + "lm_head.weight") ? w.take(prefix + "lm_head.weight", config.vocabSize(), d) : embedTokens;
    }

    public OptConfig config() {
        return config;
    }

    @Override
    public Tensor embed(Tensor ids) {
        return torch.embedding(embedTokens, ids.to(embedTokens.device(), ScalarType.Long));
    }

    @Override
    public Tensor forward(Tensor inputsEmbeds, Tensor keyMask, Tensor positionIds, AttentionCache cache) {
        long t = inputsEmbeds.size(1);
        Tensor bias = CausalMask.bias(keyMask, cache, t, inputsEmbeds.scalar_type(), embedTokens.device(), null);
        Tensor positions = torch.embedding(embedPositions,
                positionIds.to(embedTokens.device(), ScalarType.Long).add(new Scalar(POSITION_OFFSET)));

        Tensor x = Owned.layerByLayer(inputsEmbeds.add(positions), layers.size(), (index, in) -> {
            Layer layer = layers.get(index);
            Tensor h = in.add(selfAttention(index, layer, layerNorm(in, layer.attnNormWeight, layer.attnNormBias, LAYER_NORM_EPS),
                    bias, cache));
            Tensor m = layerNorm(h, layer.ffnNormWeight, layer.ffnNormBias, LAYER_NORM_EPS);
            return h.add(linear(torch.relu(linear(m, layer.fc1Weight, layer.fc1Bias)), layer.fc2Weight, layer.fc2Bias));
        });
        return finalNormWeight == null ? x : layerNorm(x, finalNormWeight, finalNormBias, LAYER_NORM_EPS);
    }

    private Tensor selfAttention(int index, Layer layer, Tensor x, Tensor bias, AttentionCache cache) {
        int heads = config.numHeads();
        double scale = 1.0 / Math.sqrt((double) config.hiddenSize() / heads);
        Tensor q = splitHeads(linear(x, layer.qWeight, layer.qBias), heads);
        Tensor k = splitHeads(linear(x, layer.kWeight, layer.kBias), heads);
        Tensor v = splitHeads(linear(x, layer.vWeight, layer.vBias), heads);
        if (cache != null) {
            Tensor[] kv = cache.append(index, k, v);
            k = kv[0];
            v = kv[1];
        }
        return linear(mergeHeads(attention(q, k, v, bias, scale)), layer.outWeight, layer.outBias);
    }

    @Override
    public Tensor logits(Tensor hidden) {
        return linear(hidden, lmHead, null);
    }

    @Override
    public int numLayers() {
        return config.numLayers();
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public ScalarType dtype() {
        return embedTokens.scalar_type();
    }

    @Override
    public Device device() {
        return embedTokens.device();
    }
}
