package org.emovit.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Tensor;
import org.emovit.model.Tensors;

/**
 * Draws one token per row from [rows, vocab] scores (temperature, then nucleus/top-p), in Java: the vocabulary is
 * 32k floats per row, and a per-row Java generator makes a seeded answer reproducible whatever the batch.
 */
final class TokenSampler {
    private final Sampling sampling;
    /** One generator per row, each seeded alike: a row draws the same tokens whenever it joins a batch. */
    private final List<SplittableRandom> random = new ArrayList<>();

    TokenSampler(Sampling sampling, int rows) {
        this.sampling = sampling;
        addRows(rows);
    }

    /** Rows joining after the current ones. */
    void addRows(int n) {
        for (int r = 0; r < n; r++) {
            random.add(new SplittableRandom(sampling.seed()));
        }
    }

    /** Keeps only these rows, in this order. */
    void keepRows(int[] rows) {
        List<SplittableRandom> kept = new ArrayList<>();
        for (int r : rows) {
            kept.add(random.get(r));
        }
        random.clear();
        random.addAll(kept);
    }

    long[] next(Tensor scores) {
        int rows = random.size();
        float[] all = Tensors.toFloats(scores.contiguous());
        int vocab = all.length / rows;
        long[] out = new long[rows];
        for (int r = 0; r < rows; r++) {
            out[r] = draw(Arrays.copyOfRange(all, r * vocab, (r + 1) * vocab), random.get(r));
        }
        return out;
    }

    private int draw(float[] logits, SplittableRandom rnd) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp((logits[i] - max) / sampling.temperature());
            sum += p[i];
        }
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        // The nucleus: the most likely tokens until their mass reaches top_p (at least one token).
        double kept = 0;
        int n = 0;
        while (n < order.length && (n == 0 || kept < sampling.topP() * sum)) {
            kept += p[order[n++]];
        }
        double u = rnd.nextDouble() * kept;
        for (int i = 0; i < n; i++) {
            u -= p[order[i]];
            if (u <= 0) {
                return order[i];
            }
        }
        return order[n - 1];
    }
}
