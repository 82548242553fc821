package org.emovit.generate;

import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.LlamaDecoder;
import org.emovit.model.Ops;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;

/**
 * The log-likelihood of each of a fixed set of answers after each context, in ONE pass of the language model:
 * the context, the answers' common leading tokens and the rest of every answer go side by side in one row per
 * context, with an attention mask that keeps the context and the common tokens causal and lets each answer's
 * own tokens see the context, the common tokens and only its own earlier tokens, at the positions they would
 * have alone. No KV cache, nothing copied per answer, and the model's weights are read once per batch (three
 * passes read them three times: on a GPU each pass costs about a decoding step, on the CPU a 7B pass over a few
 * tokens is bound by reading 13 GB of weights).
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
        Scored s = tokenLogProbs(prefill, candidates);
        int batch = (int) prefill.inputsEmbeds().size(0), count = candidates.size();
        int shared = s.shared, added = s.added;
        int[] offset = s.offset;
        float[] lp = Tensors.toFloats(s.logProbs);
        double[][] out = new double[batch][count];
        for (int b = 0; b < batch; b++) {
            double sharedSum = 0;
            for (int j = 0; j < shared; j++) {
                sharedSum += lp[b * added + j];
            }
            for (int c = 0; c < count; c++) {
                double sum = sharedSum;
                int len = candidates.get(c).length - shared;
                for (int j = 0; j < len; j++) {
                    sum += lp[b * added + shared + offset[c] + j];
                }
                out[b][c] = sum;
            }
        }
        return out;
    }

    /**
     * The same log-likelihoods as a tensor [B, C] (float) that stays in the autograd graph, so that a caller can
     * back-propagate an answer's log-likelihood to the model's inputs (the patch attribution does). Each
     * candidate's sum is the scored tokens' log-probabilities times a 0/1 membership matrix.
     */
    public Tensor logLikelihoodTensor(PrefillInputs prefill, List<long[]> candidates) {
        Scored s = tokenLogProbs(prefill, candidates);
        int count = candidates.size();
        float[] member = new float[s.added * count];   // [added, C]: does token t count towards candidate c
        for (int c = 0; c < count; c++) {
            for (int j = 0; j < s.shared; j++) {
                member[j * count + c] = 1;
            }
            int len = candidates.get(c).length - s.shared;
            for (int j = 0; j < len; j++) {
                member[(s.shared + s.offset[c] + j) * count + c] = 1;
            }
        }
        return s.logProbs.matmul(Tensors.fromFloats(member, s.added, count).to(s.logProbs));
    }

    /** The scored tokens' log-probabilities [B, added] (float) and where each candidate's tokens are among them. */
    private record Scored(Tensor logProbs, int shared, int[] offset, int added) {}

    private Scored tokenLogProbs(PrefillInputs prefill, List<long[]> candidates) {
        int batch = (int) prefill.inputsEmbeds().size(0), count = candidates.size();
        int context = (int) prefill.inputsEmbeds().size(1);
        int shared = commonPrefix(candidates);
        // Each row continues from its own last position (left padding shifts them).
        long[] next = prefill.lastPositions();
        for (int b = 0; b < next.length; b++) {
            next[b] += 1;
        }

        // The new tokens after the context: the shared ones, then every answer's own, answer after answer.
        int total = 0;
        int[] offset = new int[count];
        for (int c = 0; c < count; c++) {
            offset[c] = total;
            total += candidates.get(c).length - shared;
        }
        int added = shared + total, length = context + added;
        long[] tokens = new long[added];
        long[] within = new long[added];   // position after the context, as if the token's answer were alone
        long[] predictor = new long[added];   // the sequence index whose hidden state predicts the token
        for (int j = 0; j < shared; j++) {
            tokens[j] = candidates.get(0)[j];
            within[j] = j;
            predictor[j] = context - 1 + j;
        }
        byte[] visible = new byte[length * length];   // [length, length]: may row i attend column k (bytes: a classification's largest array)
        for (int i = 0; i < context + shared; i++) {
            for (int k = 0; k <= i; k++) {
                visible[i * length + k] = 1;   // the context and the shared tokens: causal
            }
        }
        for (int c = 0; c < count; c++) {
            long[] cand = candidates.get(c);
            for (int j = 0; j < cand.length - shared; j++) {
                int t = shared + offset[c] + j, i = context + t;
                tokens[t] = cand[shared + j];
                within[t] = shared + j;
                predictor[t] = j == 0 ? context + shared - 1 : i - 1;
                for (int k = 0; k < context + shared; k++) {
                    visible[i * length + k] = 1;
                }
                for (int k = 0; k <= j; k++) {
                    visible[i * length + context + shared + offset[c] + k] = 1;
                }
            }
        }
        long[][] ids = new long[batch][added];
        long[][] pos = new long[batch][added];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < added; t++) {
                ids[b][t] = tokens[t];
                pos[b][t] = next[b] + within[t];
            }
        }
        org.bytedeco.pytorch.Device device = languageModel.device();
        Tensor idsTensor = Tensors.fromLongs(ids).to(device, ScalarType.Long);
        Tensor embeds = Ops.cat(1, prefill.inputsEmbeds(), languageModel.embed(idsTensor));
        Tensor mask = Ops.cat(1, prefill.attentionMask().to(device, ScalarType.Long),
                torch.ones(new long[] {batch, added}, Tensors.options(ScalarType.Long, device)));   // the added tokens are all real
        Tensor positions = Ops.cat(1, prefill.positionIds().to(device, ScalarType.Long), Tensors.fromLongs(pos).to(device, ScalarType.Long));
        Tensor visibleTensor = Tensors.fromBytes(visible, length, length).to(device, ScalarType.Bool);
        Tensor h = languageModel.forward(embeds, mask, positions, null, visibleTensor);

        // Only the positions that predict a scored token go through the LM head.
        Tensor predictors = h.index_select(1, Tensors.fromLongs(predictor, added).to(device, ScalarType.Long));
        Tensor lp = logSoftmax(predictors).gather(2, idsTensor.unsqueeze(-1)).squeeze(-1);
        return new Scored(lp, shared, offset, added);
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
