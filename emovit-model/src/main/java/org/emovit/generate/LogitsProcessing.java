package org.emovit.generate;

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
        if (penalty == 1.0 || length == 0) {
            return scores;
        }
        int rows = generated.length;
        long[] flat = new long[rows * length];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(generated[r], 0, flat, r * length, length);
        }
        Tensor index = Tensors.fromLongs(flat, rows, length).to(scores.device(), ScalarType.Long);
        Tensor picked = scores.gather(1, index);
        Tensor penalised = torch.where(torch.lt(picked, new Scalar(0)), picked.mul(new Scalar(penalty)), picked.div(new Scalar(penalty)));
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
}
