package org.emovit.generate;

import java.util.Arrays;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Tensors;

/** The score adjustments HF's generate applies before choosing tokens (repetition penalty, minimum length). */
final class LogitsProcessing {
    private LogitsProcessing() {}

    /**
     * HF's RepetitionPenaltyLogitsProcessor on [rows, vocab] scores: for every token a row has generated so far,
     * a positive score is divided by the penalty and a negative one multiplied by it.
     */
    static Tensor repetitionPenalty(Tensor scores, long[][] generated, int length, double penalty) {
        int[] lengths = new int[generated.length];
        Arrays.fill(lengths, length);
        return repetitionPenalty(scores, generated, lengths, penalty);
    }

    /**
     * The same with each row's own number of generated tokens (rows that joined a running batch later have fewer).
     * A shorter row's index is filled with its first token, whose penalised score is then written twice (no change);
     * a row with no tokens yet writes back the scores it read. Equal lengths take exactly the ops of one length.
     */
    static Tensor repetitionPenalty(Tensor scores, long[][] generated, int[] lengths, double penalty) {
        int length = Arrays.stream(lengths).max().orElse(0);
        if (penalty == 1.0 || length == 0) {
            return scores;
        }
        int rows = generated.length;
        long[] flat = new long[rows * length];
        long[] hasTokens = new long[rows];
        boolean anyEmpty = false;
        for (int r = 0; r < rows; r++) {
            System.arraycopy(generated[r], 0, flat, r * length, lengths[r]);
            Arrays.fill(flat, r * length + lengths[r], (r + 1) * length, lengths[r] > 0 ? generated[r][0] : 0);
            hasTokens[r] = lengths[r] > 0 ? 1 : 0;
            anyEmpty |= lengths[r] == 0;
        }
        Tensor index = Tensors.fromLongs(flat, rows, length).to(scores.device(), ScalarType.Long);
        Tensor picked = scores.gather(1, index);
        Tensor penalised = torch.where(torch.lt(picked, new Scalar(0)), picked.mul(new Scalar(penalty)), picked.div(new Scalar(penalty)));
        if (anyEmpty) {
            Tensor apply = Tensors.fromLongs(hasTokens, rows, 1).to(scores.device(), ScalarType.Bool);
            penalised = torch.where(apply, penalised, picked);
        }
        return scores.scatter(1, index, penalised);
    }

    /** Forbids EOS (score -inf) until the minimum length is reached. */
    static Tensor minLength(Tensor scores, int length, int minNewTokens, long eosId) {
        if (length >= minNewTokens || eosId < 0) {
            return scores;
        }
        Tensor out = scores.clone();
        out.select(1, eosId).fill_(new Scalar(Double.NEGATIVE_INFINITY));
        return out;
    }

    /** The same with each row's own number of generated tokens: EOS is forbidden in the rows still short of it. */
    static Tensor minLength(Tensor scores, int[] lengths, int minNewTokens, long eosId) {
        long below = Arrays.stream(lengths).filter(l -> l < minNewTokens).count();
        if (below == 0 || eosId < 0) {
            return scores;
        }
        if (below == lengths.length) {
            return minLength(scores, 0, minNewTokens, eosId);
        }
        Tensor out = scores.clone();
        for (int r = 0; r < lengths.length; r++) {
            if (lengths[r] < minNewTokens) {
                out.select(0, r).select(0, eosId).fill_(new Scalar(Double.NEGATIVE_INFINITY));
            }
        }
        return out;
    }
}
