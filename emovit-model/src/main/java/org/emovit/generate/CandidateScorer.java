package org.emovit.generate;

import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.KvCache;
import org.emovit.model.LlamaDecoder;
import org.emovit.model.Ops;
import org.emovit.model.Tensors;

/**
 * The log-likelihood of each of a fixed set of answers after each context, in one pass over the context:
 * the context is run once into the KV cache, the answers' common leading tokens once more, and only then is
 * the cache repeated for the candidates, which are scored together (right-padded) in one batched pass.
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
        int batch = (int) contextEmbeds.size(0), count = candidates.size();
        int shared = commonPrefix(candidates);
        Tensor mask = contextMask.to(languageModel.device(), ScalarType.Long);
        Tensor positions = mask.cumsum(1).sub(new Scalar(1)).masked_fill(mask.eq(new Scalar(0)), new Scalar(1));
        // Each row continues from its own last position (left padding shifts them).
        long[] next = Tensors.toLongs(Ops.slice(positions, 1, positions.size(1) - 1, positions.size(1)));
        for (int b = 0; b < batch; b++) {
            next[b] += 1;
        }

        try (KvCache cache = new KvCache(languageModel.config().numLayers())) {
            return score(contextEmbeds, mask, positions, next, candidates, shared, cache);
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

        int longest = 0;
        for (long[] c : candidates) {
            longest = Math.max(longest, c.length - shared);
        }
        double[][] out = new double[batch][count];
        if (longest == 0) {
            for (int b = 0; b < batch; b++) {
                java.util.Arrays.fill(out[b], sharedLogProb[b]);
            }
            return out;
        }
        int rows = batch * count;
        long[][] ids = new long[rows][longest];
        long[][] rowMask = new long[rows][longest];
        long[][] pos = new long[rows][longest];
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < count; c++) {
                long[] cand = candidates.get(c);
                int r = b * count + c;
                for (int j = 0; j < longest; j++) {
                    boolean real = shared + j < cand.length;
                    ids[r][j] = real ? cand[shared + j] : cand[cand.length - 1];
                    rowMask[r][j] = real ? 1 : 0;
                    pos[r][j] = next[b] + j;
                }
            }
        }
        Tensor idsTensor = Tensors.fromLongs(ids).to(languageModel.device(), ScalarType.Long);
        Tensor h;
        try (KvCache expanded = cache.expandBatch(count)) {
            h = languageModel.forward(languageModel.embed(idsTensor), Tensors.fromLongs(rowMask), Tensors.fromLongs(pos), expanded);
        }
        Tensor firstPredictor = lastHidden.repeat_interleave(count, new org.bytedeco.pytorch.LongOptional(0), new org.bytedeco.pytorch.LongOptional());
        Tensor predictors = Ops.cat(1, firstPredictor, Ops.slice(h, 1, 0, longest - 1));
        Tensor logp = logSoftmax(predictors).gather(2, idsTensor.unsqueeze(-1)).squeeze(-1);
        float[] lp = Tensors.toFloats(logp.mul(Tensors.fromLongs(rowMask).to(logp.device(), ScalarType.Float)));
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < count; c++) {
                int r = b * count + c;
                double sum = sharedLogProb[b];
                for (int j = 0; j < longest; j++) {
                    sum += lp[r * longest + j];
                }
                out[b][c] = sum;
            }
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
