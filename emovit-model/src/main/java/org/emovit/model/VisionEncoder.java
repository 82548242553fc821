package org.emovit.model;

import static org.emovit.model.Ops.attention;
import static org.emovit.model.Ops.cat;
import static org.emovit.model.Ops.gelu;
import static org.emovit.model.Ops.layerNorm;
import static org.emovit.model.Ops.linear;
import static org.emovit.model.Ops.mergeHeads;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * The image encoder: EVA ViT-g/14 as BLIP-2/InstructBLIP use it (HF `InstructBlipVisionModel`).
 * Patches are embedded by a strided convolution, a learned CLS token and absolute positions are added, then
 * pre-LN transformer blocks with a fused qkv projection whose bias holds q and v biases (k has none), and a
 * final LayerNorm (HF `post_layernorm`, LAVIS `ln_vision`).
 */
public final class VisionEncoder {

    private record Block(Tensor norm1Weight, Tensor norm1Bias, LinearWeight qkvWeight, Tensor qkvBias,
                         LinearWeight projWeight, Tensor projBias, Tensor norm2Weight, Tensor norm2Bias,
                         LinearWeight fc1Weight, Tensor fc1Bias, LinearWeight fc2Weight, Tensor fc2Bias) {}

    private final VisionConfig config;
    private final Tensor classEmbedding;
    private final Tensor positionEmbedding;
    private final Tensor patchWeight;
    private final Tensor patchBias;
    private final List<Block> blocks = new ArrayList<>();
    private final Tensor postNormWeight;
    private final Tensor postNormBias;

    public VisionEncoder(VisionConfig config, StateDict w) {
        this.config = config;
        long d = config.hiddenSize(), ff = config.intermediateSize(), p = config.patchSize();
        String e = "vision_model.embeddings.";
        classEmbedding = w.take(e + "class_embedding", 1, 1, d);
        positionEmbedding = w.take(e + "position_embedding", 1, config.numPatches() + 1, d);
        patchWeight = w.take(e + "patch_embedding.weight", d, 3, p, p);
        patchBias = w.take(e + "patch_embedding.bias", d);
        for (int i = 0; i < config.numLayers(); i++) {
            String l = "vision_model.encoder.layers." + i + ".";
            blocks.add(new Block(
                    w.take(l + "layer_norm1.weight", d), w.take(l + "layer_norm1.bias", d),
                    w.takeLinear(l + "self_attn.qkv.weight", 3 * d, d), w.take(l + "self_attn.qkv.bias", 3 * d),
                    w.takeLinear(l + "self_attn.projection.weight", d, d), w.take(l + "self_attn.projection.bias", d),
                    w.take(l + "layer_norm2.weight", d), w.take(l + "layer_norm2.bias", d),
                    w.takeLinear(l + "mlp.fc1.weight", ff, d), w.take(l + "mlp.fc1.bias", ff),
                    w.takeLinear(l + "mlp.fc2.weight", d, ff), w.take(l + "mlp.fc2.bias", d)));
        }
        postNormWeight = w.take("vision_model.post_layernorm.weight", d);
        postNormBias = w.take("vision_model.post_layernorm.bias", d);
    }

    public VisionConfig config() {
        return config;
    }

    /** pixel values [B, 3, S, S] (normalised) -> image features [B, 1 + patches, D] after the final LayerNorm. */
    public Tensor forward(Tensor pixelValues) {
        Tensor blocksOut = encodeBlocks(pixelValues);
        Tensor out = finalNorm(blocksOut);
        return out;
    }

    /**
     * The final LayerNorm (LAVIS ln_vision) alone. Training keeps the blocks frozen but tunes ln_vision, so it
     * runs the blocks without a graph and this with one (and a feature cache stores the blocks' output).
     */
    public Tensor finalNorm(Tensor blocksOutput) {
        return layerNorm(blocksOutput.to(postNormWeight.scalar_type()), postNormWeight, postNormBias, config.layerNormEps());
    }

    /** The blocks' output before the final LayerNorm. */
    public Tensor encodeBlocks(Tensor pixelValues) {
        Tensor embedded = embed(pixelValues.to(patchWeight.device(), patchWeight.scalar_type()));
        return Owned.layerByLayer(embedded, blocks.size(), (index, in) -> {
            Block b = blocks.get(index);
            Tensor h = in.add(selfAttention(b, layerNorm(in, b.norm1Weight, b.norm1Bias, config.layerNormEps())));
            Tensor m = layerNorm(h, b.norm2Weight, b.norm2Bias, config.layerNormEps());
            return h.add(linear(gelu(linear(m, b.fc1Weight, b.fc1Bias)), b.fc2Weight, b.fc2Bias));
        });
    }

    private Tensor embed(Tensor pixels) {
        long p = config.patchSize();
        Tensor patches = torch.conv2d(pixels, patchWeight, new TensorOptional(patchBias),
                new long[] {p, p}, new long[] {0, 0}, new long[] {1, 1}, 1);
        patches = patches.flatten(2, 3).transpose(1, 2);
        Tensor cls = classEmbedding.expand(pixels.size(0), 1, config.hiddenSize());
        return cat(1, cls, patches).add(positionEmbedding);
    }

    private Tensor selfAttention(Block b, Tensor x) {
        long batch = x.size(0), tokens = x.size(1), heads = config.numHeads(), hd = config.hiddenSize() / heads;
        Tensor qkv = linear(x, b.qkvWeight, b.qkvBias).view(batch, tokens, 3, heads, hd).permute(2, 0, 3, 1, 4);
        Tensor out = attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), null, 1.0 / Math.sqrt(hd));
        return linear(mergeHeads(out), b.projWeight, b.projBias);
    }
}
