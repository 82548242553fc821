package org.emovit.model;

import static org.emovit.model.Ops.attention;
import static org.emovit.model.Ops.cat;
import static org.emovit.model.Ops.gelu;
import static org.emovit.model.Ops.layerNorm;
import static org.emovit.model.Ops.linear;
import static org.emovit.model.Ops.mergeHeads;
import static org.emovit.model.Ops.slice;
import static org.emovit.model.Ops.splitHeads;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The instruction-aware Q-Former (HF `InstructBlipQFormerModel`, LAVIS `Qformer.bert`): a BERT encoder whose
 * input is the learned query tokens followed by the instruction's word embeddings. Queries and instruction
 * share self-attention; every {@code cross_attention_frequency}-th layer lets the query positions (only) attend
 * to the image features; query and text positions have separate feed-forward blocks. Only the query
 * positions of the output are used downstream.
 */
public final class QFormer {

    /** BERT attention: projections, attention, then output dense + residual LayerNorm. */
    private record Attention(Tensor queryWeight, Tensor queryBias, Tensor keyWeight, Tensor keyBias,
                             Tensor valueWeight, Tensor valueBias, Tensor outWeight, Tensor outBias,
                             Tensor normWeight, Tensor normBias) {}

    /** BERT feed-forward: intermediate dense + GELU, output dense + residual LayerNorm. */
    private record FeedForward(Tensor inWeight, Tensor inBias, Tensor outWeight, Tensor outBias,
                               Tensor normWeight, Tensor normBias) {}

    private record Layer(Attention selfAttention, Attention crossAttention, FeedForward queryFeedForward,
                         FeedForward textFeedForward) {}

    private final QFormerConfig config;
    private final Tensor wordEmbeddings;
    private final Tensor positionEmbeddings;
    private final Tensor embedNormWeight;
    private final Tensor embedNormBias;
    private final List<Layer> layers = new ArrayList<>();
    private CrossAttentionProbe crossAttentionProbe;

    /**
     * Sees the cross-attention probabilities of each layer that has cross-attention, [B, heads, queries, image
     * tokens], while the forward pass runs (attention rollout reads them; nothing else needs them). The tensor
     * lives in the layer's scope: reduce or copy it before returning.
     */
    @FunctionalInterface
    public interface CrossAttentionProbe {
        void accept(int layer, Tensor probabilities);
    }

    /**
     * Installs a probe (null removes it). Computing the probabilities costs a second score matrix per
     * cross-attention layer, so it is off unless a caller asks; the model is driven by one caller at a time.
     */
    public void setCrossAttentionProbe(CrossAttentionProbe probe) {
        this.crossAttentionProbe = probe;
    }

    public QFormer(QFormerConfig config, StateDict w) {
        this.config = config;
        long d = config.hiddenSize();
        if (config.textInput()) {
            wordEmbeddings = w.take("qformer.embeddings.word_embeddings.weight", config.vocabSize(), d);
            positionEmbeddings = w.take("qformer.embeddings.position_embeddings.weight", config.maxPositions(), d);
            embedNormWeight = w.take("qformer.embeddings.layernorm.weight", d);
            embedNormBias = w.take("qformer.embeddings.layernorm.bias", d);
        } else {
            wordEmbeddings = null;
            positionEmbeddings = null;
            embedNormWeight = w.take("qformer.layernorm.weight", d);
            embedNormBias = w.take("qformer.layernorm.bias", d);
        }
        for (int i = 0; i < config.numLayers(); i++) {
            String l = "qformer.encoder.layer." + i + ".";
            layers.add(new Layer(
                    readAttention(w, l + "attention.", d),
                    config.hasCrossAttention(i) ? readAttention(w, l + "crossattention.", config.encoderHiddenSize()) : null,
                    readFeedForward(w, l + "intermediate_query.", l + "output_query."),
                    config.textInput() ? readFeedForward(w, l + "intermediate.", l + "output.") : null));
        }
    }

    private Attention readAttention(StateDict w, String p, long keyWidth) {
        long d = config.hiddenSize();
        return new Attention(
                w.take(p + "attention.query.weight", d, d), w.take(p + "attention.query.bias", d),
                w.take(p + "attention.key.weight", d, keyWidth), w.take(p + "attention.key.bias", d),
                w.take(p + "attention.value.weight", d, keyWidth), w.take(p + "attention.value.bias", d),
                w.take(p + "output.dense.weight", d, d), w.take(p + "output.dense.bias", d),
                w.take(p + "output.LayerNorm.weight", d), w.take(p + "output.LayerNorm.bias", d));
    }

    private FeedForward readFeedForward(StateDict w, String in, String out) {
        long d = config.hiddenSize(), ff = config.intermediateSize();
        return new FeedForward(
                w.take(in + "dense.weight", ff, d), w.take(in + "dense.bias", ff),
                w.take(out + "dense.weight", d, ff), w.take(out + "dense.bias", d),
                w.take(out + "LayerNorm.weight", d), w.take(out + "LayerNorm.bias", d));
    }

    public QFormerConfig config() {
        return config;
    }

    /**
     * @param queries       learned query tokens, expanded to [B, Q, D]
     * @param inputIds      instruction tokens [B, T] (BERT ids)
     * @param attentionMask instruction mask [B, T] (1 = token, 0 = padding)
     * @param imageEmbeds   vision features [B, N, Dv]
     * @return the query positions of the last hidden state [B, Q, D]
     */
    public Tensor forward(Tensor queries, Tensor inputIds, Tensor attentionMask, Tensor imageEmbeds) {
        if (!config.textInput() || inputIds == null) {
            return forwardQueriesOnly(queries, imageEmbeds);
        }
        long batch = inputIds.size(0), q = queries.size(1), t = inputIds.size(1);
        if (t > config.maxPositions()) {
            throw new IllegalArgumentException("the Q-Former instruction has " + t + " tokens but the model has only "
                    + config.maxPositions() + " positions");
        }
        Tensor positions = torch.arange(new org.bytedeco.pytorch.Scalar(t),
                Tensors.options(torch.ScalarType.Long, wordEmbeddings.device()));
        Tensor text = torch.embedding(wordEmbeddings, inputIds.to(wordEmbeddings.device(), torch.ScalarType.Long))
                .add(torch.embedding(positionEmbeddings, positions));
        Tensor x = layerNorm(cat(1, queries, text), embedNormWeight, embedNormBias, config.layerNormEps());

        Tensor fullMask = cat(1, torch.ones(new long[] {batch, q}, Tensors.options(torch.ScalarType.Long, wordEmbeddings.device())),
                attentionMask.to(wordEmbeddings.device(), torch.ScalarType.Long));
        Tensor selfBias = Ops.keyMaskBias(fullMask, x.scalar_type());
        Tensor image = imageEmbeds.to(x.device(), x.scalar_type());

        Tensor out = Owned.layerByLayer(x, layers.size(), (index, in) -> {
            Layer layer = layers.get(index);
            Tensor h = attend(layer.selfAttention, in, in, selfBias);
            Tensor queryPart = slice(h, 1, 0, q);
            if (layer.crossAttention != null) {
                probe(index, layer.crossAttention, queryPart, image);
                queryPart = attend(layer.crossAttention, queryPart, image, null);
            }
            Tensor queryOut = feedForward(layer.queryFeedForward, queryPart);
            return t > 0 ? cat(1, queryOut, feedForward(layer.textFeedForward, slice(h, 1, q, q + t))) : queryOut;
        });
        return slice(out, 1, 0, q);
    }

    /** BLIP-2's Q-Former: the query tokens alone (LayerNorm, then the layers' query path). */
    private Tensor forwardQueriesOnly(Tensor queries, Tensor imageEmbeds) {
        Tensor x = layerNorm(queries.to(embedNormWeight.device(), embedNormWeight.scalar_type()), embedNormWeight,
                embedNormBias, config.layerNormEps());
        Tensor image = imageEmbeds.to(x.device(), x.scalar_type());
        return Owned.layerByLayer(x, layers.size(), (index, in) -> {
            Layer layer = layers.get(index);
            Tensor h = attend(layer.selfAttention, in, in, null);
            if (layer.crossAttention != null) {
                probe(index, layer.crossAttention, h, image);
                h = attend(layer.crossAttention, h, image, null);
            }
            return feedForward(layer.queryFeedForward, h);
        });
    }

    /** Hands the probe softmax(q k^T / sqrt(d)) of this cross-attention, when one is installed. */
    private void probe(int index, Attention a, Tensor x, Tensor keysFrom) {
        if (crossAttentionProbe == null) {
            return;
        }
        long heads = config.numHeads(), hd = config.hiddenSize() / heads;
        Tensor query = splitHeads(linear(x, a.queryWeight, a.queryBias), heads);
        Tensor key = splitHeads(linear(keysFrom, a.keyWeight, a.keyBias), heads);
        Tensor scores = query.matmul(key.transpose(-2, -1)).mul(new org.bytedeco.pytorch.Scalar(1.0 / Math.sqrt(hd)));
        crossAttentionProbe.accept(index, torch.softmax(scores.to(torch.ScalarType.Float), -1));
    }

    private Tensor attend(Attention a, Tensor x, Tensor keysFrom, Tensor bias) {
        long heads = config.numHeads(), hd = config.hiddenSize() / heads;
        Tensor query = splitHeads(linear(x, a.queryWeight, a.queryBias), heads);
        Tensor key = splitHeads(linear(keysFrom, a.keyWeight, a.keyBias), heads);
        Tensor value = splitHeads(linear(keysFrom, a.valueWeight, a.valueBias), heads);
        Tensor context = mergeHeads(attention(query, key, value, bias, 1.0 / Math.sqrt(hd)));
        return layerNorm(linear(context, a.outWeight, a.outBias).add(x), a.normWeight, a.normBias, config.layerNormEps());
    }

    private Tensor feedForward(FeedForward f, Tensor x) {
        Tensor h = linear(gelu(linear(x, f.inWeight, f.inBias)), f.outWeight, f.outBias);
        return layerNorm(h.add(x), f.normWeight, f.normBias, config.layerNormEps());
    }
}
