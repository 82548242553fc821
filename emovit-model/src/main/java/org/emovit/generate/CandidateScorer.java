package org.emovit.generate;

import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.KvCache;
import org.emovit.model.LlamaDecoder;
import org.emovit.model.Ops;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;

/**
 * The log-likelihood of each of a fixed set of answers after each context, in one pass over the context:
 * the context is run once into the KV cache, the answers' common leading tokens once more, and then the rest
 * of every answer in one more pass, all answers side by side in one row per context with an attention mask
 * that lets each see only the context and itself (so the context's cache is never copied per answer).
 */
public final class CandidateScorer {
    private final LlamaDecoder languageModel;

    public CandidateScorer(LlamaDecoder languageModel) {
        this.languageModel = languageModel;
    }

    /**
     * @param contextEmbeds [B, T, D] (left-padded contexts, image slots filled)
     * @param contextMask   [B, T]
     * @param candidates    token ids of each candidate continuation (as the model should produce them, e.g. ending with EOS)
     * @return [B][C] sum of log p(candidate tokens | context)
     */
    public double[][] logLikelihoods(Tensor contextEmbeds, Tensor contextMask, List<long[]> candidates) {
        return logLikelihoods(PrefillInputs.of(contextEmbeds, contextMask), candidates);
    }

    /** As above, from the model's prefill inputs. */
    public double[][] logLikelihoods(PrefillInputs prefill, List<long[]> candidates) {
        int shared = commonPrefix(candidates);
        // Each row continues from its own last position (left padding shifts them).
        long[] next = prefill.lastPositions();
        for (int b = 0; b < next.length; b++) {
            next[b] += 1;
        }
        try (KvCache cache = new KvCache(languageModel.config().numLayers())) {
            return score(prefill.inputsEmbeds(), prefill.attentionMask(), prefill.positionIds(), next, candidates, shared, cache);
        }
    }

    private double[][] score(Tensor contextEmbeds, Tensor mask, Tensor positions, long[] next, List<long[]> candidates,
                             int shared, KvCache cache) {
        int batch = (int) contextEmbeds.size(0), count = candidates.size();
        Tensor hidden = languageModel.forward(contextEmbeds, mask, positions, cache);
        Tensor lastHidden = Ops.slice(hidden, 1, hidden.size(1) - 1, hidden.size(1));   // predicts the first answer token
        double[] sharedLogProb = new double[batch];

        if (shared > 0) {
            long[][] ids = new long[batch][shared];
            long[][] pos = new long[batch][shared];
            long[][] ones = new long[batch][shared];
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < shared; j++) {
                    ids[b][j] = candidates.get(0)[j];
                    pos[b][j] = next[b] + j;
                    ones[b][j] = 1;
                }
            }
            Tensor h = languageModel.forward(languageModel.embed(Tensors.fromLongs(ids)), Tensors.fromLongs(ones),
                    Tensors.fromLongs(pos), cache);
            // log p of the shared tokens: the first from the context's last position, the rest from h.
            Tensor predictors = Ops.cat(1, lastHidden, Ops.slice(h, 1, 0, shared - 1));
            Tensor logp = logSoftmax(predictors).gather(2, Tensors.fromLongs(ids).to(h.device(), ScalarType.Long).unsqueeze(-1));
            float[] lp = Tensors.toFloats(logp.sum(new long[] {1, 2}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            for (int b = 0; b < batch; b++) {
                sharedLogProb[b] = lp[b];
            }
            lastHidden = Ops.slice(h, 1, shared - 1, shared);
            for (int b = 0; b < batch; b++) {
                next[b] += shared;
            }
        }

        // All candidates' remaining tokens go in one row per context, each seeing the context (in the cache)
        // and only its own earlier tokens, at the positions it would have alone: no copy of the cache per candidate.
        int total = 0;
        int[] offset = new int[count];
        for (int c = 0; c < count; c++) {
            offset[c] = total;
            total += candidates.get(c).length - shared;
        }
        double[][] out = new double[batch][count];
        if (total == 0) {
            for (int b = 0; b < batch; b++) {
                java.util.Arrays.fill(out[b], sharedLogProb[b]);
            }
            return out;
        }
        long[] flat = new long[total];
        int[] owner = new int[total];
        long[] within = new long[total];
        boolean[] visible = new boolean[total * total];
        for (int c = 0; c < count; c++) {
            long[] cand = candidates.get(c);
            for (int j = 0; j < cand.length - shared; j++) {
                int i = offset[c] + j;
                flat[i] = cand[shared + j];
                owner[i] = c;
                within[i] = j;
                for (int k = 0; k <= j; k++) {
                    visible[i * total + offset[c] + k] = true;
                }
            }
        }
        long[][] ids = new long[batch][total];
        long[][] pos = new long[batch][total];
        long[][] ones = new long[batch][total];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < total; i++) {
                ids[b][i] = flat[i];
                pos[b][i] = next[b] + within[i];
                ones[b][i] = 1;
            }
        }
        Tensor visibleTensor = Tensors.fromLongs(toLongs(visible), total, total).to(languageModel.device(), ScalarType.Bool);
        Tensor idsTensor = Tensors.fromLongs(ids).to(languageModel.device(), ScalarType.Long);
        Tensor h = languageModel.forward(languageModel.embed(idsTensor), Tensors.fromLongs(ones), Tensors.fromLongs(pos), cache,
                visibleTensor);
        // token i is predicted by the hidden state before it in its own candidate (the context's last for the first)
        long[] predictorIndex = new long[total];
        for (int i = 0; i < total; i++) {
            predictorIndex[i] = within[i] == 0 ? 0 : 1 + (i - 1);
        }
        Tensor predictors = Ops.cat(1, lastHidden, h).index_select(1,
                Tensors.fromLongs(predictorIndex, total).to(languageModel.device(), ScalarType.Long));
        float[] lp = Tensors.toFloats(logSoftmax(predictors).gather(2, idsTensor.unsqueeze(-1)).squeeze(-1));
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < count; c++) {
                double sum = sharedLogProb[b];
                int len = candidates.get(c).length - shared;
                for (int j = 0; j < len; j++) {
                    sum += lp[b * total + offset[c] + j];
                }
                out[b][c] = sum;
            }
        }
        return out;
    }

    private static long[] toLongs(boolean[] v) {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] ? 1 : 0;
        }
        return out;
    }

    private Tensor logSoftmax(Tensor hidden) {
        return torch.log_softmax(languageModel.logits(hidden).to(ScalarType.Float), -1);
    }

    /** How many leading tokens all candidates share (at least one token is left to each to tell them apart). */
    static int commonPrefix(List<long[]> candidates) {
        if (candidates.size() < 2) {
            return 0;
        }
        int n = Integer.MAX_VALUE;
        for (long[] c : candidates) {
            n = Math.min(n, c.length - 1);
        }
        for (int j = 0; j < n; j++) {
            long t = candidates.get(0)[j];
            for (long[] c : candidates) {
                if (c[j] != t) {
                    return j;
                }
            }
        }
        return Math.max(n, 0);
    }

    /** softmax of log-likelihoods: the probability of each candidate given that the answer is one of them. */
    public static double[] softmax(double[] logLikelihoods) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logLikelihoods) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] p = new double[logLikelihoods.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logLikelihoods[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
