package org.emovit.model;

import static org.emovit.model.Ops.attention;
import static org.emovit.model.Ops.cat;
import static org.emovit.model.Ops.linear;
import static org.emovit.model.Ops.mergeHeads;
import static org.emovit.model.Ops.splitHeads;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The language model: LLaMA / Vicuna (HF `LlamaForCausalLM`). Pre-norm blocks with RMSNorm, rotary position
 * embeddings (rotate-half form), causal self-attention with a padding mask, a SwiGLU feed-forward, a final
 * RMSNorm and the LM head. A {@link KvCache} carries keys and values between decoding steps.
 */
public final class LlamaDecoder implements LanguageModel {

    private record Layer(Tensor inputNorm, LinearWeight qWeight, LinearWeight kWeight, LinearWeight vWeight, LinearWeight oWeight,
                         Tensor postNorm, LinearWeight gateWeight, LinearWeight upWeight, LinearWeight downWeight) {}

    private final LlamaConfig config;
    private final Tensor embedTokens;
    private final List<Layer> layers = new ArrayList<>();
    private final Tensor finalNorm;
    private final LinearWeight lmHead;
    /**
     * cos and sin of every rotary angle [rows, headDim], computed once in float32 and cast to the model's dtype
     * (as HF computes them per call), so a step looks its positions up instead of running a dozen small ops. The
     * sin table carries rotate-half's sign (-1 on the first half): {@code rotate_half(x) * sin} is then
     * {@code roll(x, half) * signedSin}, bit for bit, since negation is exact.
     */
    private static final long[] LAST_DIM = {-1};
    // Native objects live as long as the model's tensors: a static one created while some PointerScope is open would be
    // freed with that scope and fail every later call.
    private final ScalarTypeOptional noDtype = new ScalarTypeOptional();
    private final Scalar rmsEps;
    private final DoubleOptional rmsEpsilon;
    private final long[] normalizedShape;
    private final Tensor cosTable;
    private final Tensor signedSinTable;
    /** Decoding steps in one native call where every Linear runs on the native 4-bit kernel, else null. */
    private final LlamaNativeStep nativeStep;

    public LlamaDecoder(LlamaConfig config, StateDict w) {
        this.config = config;
        long d = config.hiddenSize(), ff = config.intermediateSize(), v = config.vocabSize();
        long qWidth = (long) config.numHeads() * config.headDim(), kvWidth = (long) config.numKvHeads() * config.headDim();
        embedTokens = w.take("language_model.model.embed_tokens.weight", v, d);
        for (int i = 0; i < config.numLayers(); i++) {
            String l = "language_model.model.layers." + i + ".";
            layers.add(new Layer(
                    w.take(l + "input_layernorm.weight", d),
                    w.takeLinear(l + "self_attn.q_proj.weight", qWidth, d),
                    w.takeLinear(l + "self_attn.k_proj.weight", kvWidth, d),
                    w.takeLinear(l + "self_attn.v_proj.weight", kvWidth, d),
                    w.takeLinear(l + "self_attn.o_proj.weight", d, qWidth),
                    w.take(l + "post_attention_layernorm.weight", d),
                    w.takeLinear(l + "mlp.gate_proj.weight", ff, d),
                    w.takeLinear(l + "mlp.up_proj.weight", ff, d),
                    w.takeLinear(l + "mlp.down_proj.weight", d, ff)));
        }
        finalNorm = w.take("language_model.model.norm.weight", d);
        // int8 too when the checkpoint stores it so: at 7B it is 262 MB of bf16 read per decoded token
        lmHead = config.tieWordEmbeddings() && !w.contains("language_model.lm_head.weight")
                ? LinearWeight.of(embedTokens) : w.takeLinear("language_model.lm_head.weight", v, d);
        rmsEps = new Scalar(config.rmsNormEps());
        rmsEpsilon = new DoubleOptional(config.rmsNormEps());
        normalizedShape = new long[] {d};
        int half = config.headDim() / 2;
        float[] inv = new float[half];
        float[] sign = new float[2 * half];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.headDim()));
            sign[i] = -1;
            sign[half + i] = 1;
        }
        org.bytedeco.pytorch.Device device = embedTokens.device();
        // Room for positions well past the trained length (long answers, long conversations); past it is an error.
        long rows = Math.max(4L * config.maxPositions(), 4096);
        Tensor positions = torch.arange(new Scalar(rows), Tensors.options(ScalarType.Float, device)).unsqueeze(-1);
        Tensor freqs = positions.mul(Tensors.fromFloats(inv, inv.length).to(device, ScalarType.Float));
        Tensor angles = cat(-1, freqs, freqs);
        cosTable = angles.cos().to(embedTokens.scalar_type());
        signedSinTable = angles.sin().mul(Tensors.fromFloats(sign, sign.length).to(device, ScalarType.Float)).to(embedTokens.scalar_type());
        nativeStep = LlamaNativeStep.of(config,
                layers.stream().map(l -> new Tensor[] {l.inputNorm, l.postNorm}).toList(),
                layers.stream().map(l -> new LinearWeight[] {l.qWeight, l.kWeight, l.vWeight, l.oWeight, l.gateWeight, l.upWeight, l.downWeight}).toList(),
                cosTable, signedSinTable);
    }

    /** Whether decoding steps over a {@link RowSlotCache} run as one native call ({@link LlamaNativeStep}). */
    boolean decodesNatively() {
        return nativeStep != null;
    }

    public LlamaConfig config() {
        return config;
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
    public Tensor embed(Tensor ids) {
        return torch.embedding(embedTokens, ids.to(embedTokens.device(), ScalarType.Long));
    }

    @Override
    public ScalarType dtype() {
        return embedTokens.scalar_type();
    }

    @Override
    public org.bytedeco.pytorch.Device device() {
        return embedTokens.device();
    }

    /**
     * Runs the decoder over new positions.
     *
     * @param inputsEmbeds [B, T, D] embeddings of the new positions
     * @param keyMask      [B, T] 0/1 mask of the new positions (padding = 0); appended to the cache's mask
     * @param positionIds  [B, T] rotary positions of the new positions
     * @param cache        keys/values of earlier positions (updated), or null for a one-shot pass
     * @return final hidden states [B, T, D] (after the last RMSNorm)
     */
    @Override
    public Tensor forward(Tensor inputsEmbeds, Tensor keyMask, Tensor positionIds, AttentionCache cache) {
        return forward(inputsEmbeds, keyMask, positionIds, cache, null);
    }

    /**
     * As {@link #forward(Tensor, Tensor, Tensor, AttentionCache)}, but the new positions see each other as
     * {@code visible} says ([T, T] bool: may new position i attend new position j) instead of causally. This
     * scores several short continuations of one context in one row, each seeing the context and only its own
     * earlier tokens, without copying the context's cache once per continuation.
     */
    public Tensor forward(Tensor inputsEmbeds, Tensor keyMask, Tensor positionIds, AttentionCache cache, Tensor visible) {
        if (nativeStep != null && nativeStep.takes(inputsEmbeds, cache, visible)) {
            return rmsNorm(nativeStep.step(inputsEmbeds, keyMask, positionIds, (RowSlotCache) cache), finalNorm);
        }
        long t = inputsEmbeds.size(1);
        Tensor bias = CausalMask.bias(keyMask, cache, t, inputsEmbeds.scalar_type(), embedTokens.device(), visible);
        Tensor[] rotary = rotary(positionIds, inputsEmbeds.scalar_type());

        Tensor x = Owned.layerByLayer(inputsEmbeds, layers.size(), (index, in) -> {
            Layer layer = layers.get(index);
            Tensor h = in.add(selfAttention(index, layer, rmsNorm(in, layer.inputNorm), bias, rotary, cache));
            Tensor m = rmsNorm(h, layer.postNorm);
            Tensor gated = torch.silu(linear(m, layer.gateWeight, null)).mul(linear(m, layer.upWeight, null));
            return h.add(linear(gated, layer.downWeight, null));
        });
        return rmsNorm(x, finalNorm);
    }

    @Override
    public Tensor logits(Tensor hidden) {
        return linear(hidden, lmHead, null);
    }

    private Tensor selfAttention(int index, Layer layer, Tensor x, Tensor bias, Tensor[] rotary, AttentionCache cache) {
        int heads = config.numHeads(), kvHeads = config.numKvHeads();
        Tensor q = applyRotary(splitHeads(linear(x, layer.qWeight, null), heads), rotary);
        Tensor k = applyRotary(splitHeads(linear(x, layer.kWeight, null), kvHeads), rotary);
        Tensor v = splitHeads(linear(x, layer.vWeight, null), kvHeads);
        if (cache != null) {
            Tensor[] kv = cache.append(index, k, v);
            k = kv[0];
            v = kv[1];
        }
        if (kvHeads != heads) {
            k = k.repeat_interleave(heads / kvHeads, new LongOptional(1), new LongOptional());
            v = v.repeat_interleave(heads / kvHeads, new LongOptional(1), new LongOptional());
        }
        Tensor out = attention(q, k, v, bias, 1.0 / Math.sqrt(config.headDim()));
        return linear(mergeHeads(out), layer.oWeight, null);
    }

    /**
     * RMSNorm as HF's LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) in float32, cast back to x's dtype, times the weight.
     * libtorch's rms_norm is one call from Java instead of five to eight (on a GPU each of those is a kernel launch;
     * on the CPU the tiny model's decoding step did not measurably change): in float32 it is HF's formula bit for bit. In
     * bf16/fp16 it multiplies by the weight before the cast back (one rounding instead of two), so on the CPU, where
     * parity with HF is tested, reduced precision keeps HF's order of operations; on a GPU the launches count more.
     */
    private Tensor rmsNorm(Tensor x, Tensor weight) {
        boolean float32 = x.scalar_type().intern() == ScalarType.Float;
        if (float32 || x.is_cuda()) {
            return torch.rms_norm(x, normalizedShape, new TensorOptional(weight), rmsEpsilon);
        }
        Tensor xf = x.to(ScalarType.Float);
        Tensor variance = xf.square().mean(LAST_DIM, true, noDtype);
        return xf.mul(variance.add_(rmsEps).rsqrt_()).to(x.scalar_type()).mul(weight);
    }

    /** cos and signed sin [B, 1, T, headDim] for the given positions (float32 values cast to dtype, as HF does). */
    private Tensor[] rotary(Tensor positionIds, ScalarType dtype) {
        Tensor ids = positionIds.to(embedTokens.device(), ScalarType.Long);
        Tensor cos = torch.embedding(cosTable, ids).unsqueeze(1);
        Tensor sin = torch.embedding(signedSinTable, ids).unsqueeze(1);
        return dtype == cosTable.scalar_type() ? new Tensor[] {cos, sin} : new Tensor[] {cos.to(dtype), sin.to(dtype)};
    }

    /** x * cos + rotate_half(x) * sin, with rotate_half's sign already in the sin table. */
    private static Tensor applyRotary(Tensor x, Tensor[] rotary) {
        long half = x.size(-1) / 2;
        return x.mul(rotary[0]).add(x.roll(new long[] {half}, -1).mul(rotary[1]));
    }
}
