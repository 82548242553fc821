package org.emovit.model.quant;

import java.util.stream.IntStream;

/**
 * How a float weight becomes 4-bit levels and their groups' parameters ({@link Int4Format}), either scheme. Each group
 * of columns starts from a fit to its extremes, then takes {@link #REFINEMENTS} rounds of least squares: the levels
 * nearest the weights for the current fit, then the parameters that fit the weights best for those levels.
 * <ul>
 *   <li>Symmetric: the start is llama.cpp Q4_0's, the weight of largest magnitude at level 0 ({@code scale = -m / 8},
 *   so the sign of that weight decides which side gets the 16th level), then the least-squares scale
 *   {@code sum((q - 8) w) / sum((q - 8)^2)}.</li>
 *   <li>Affine: the start is min/max ({@code scale = (max - min) / 15}, {@code zero = min + 8 * scale}), then the
 *   least-squares line through the levels.</li>
 * </ul>
 * The extremes of a group of normal weights are rare, and a fit to them spends the 16 levels' span on them; the fitted
 * scale narrows the span to where most weights are. A group keeps whichever fit has the smallest squared error once its
 * parameters are rounded to the stored bf16, so none ends worse than its start. A group works on its own 32 values, in
 * cache, so this is plain Java over a block of rows, each row a task of the common pool.
 */
final class Int4Rounding {
    private Int4Rounding() {}

    /** Rounds of least squares after the min/max fit: the error stops falling after a few. */
    static final int REFINEMENTS = 4;

    /**
     * Rounds weights [rows, k] (row-major) in groups of {@code group} columns.
     *
     * @param nibbles out: [rows, k/2], column 2j in the low nibble of byte j, 2j+1 in the high
     * @param params  out: [rows, k/group, scheme.perGroup], each group's scale (and zero), values bf16 holds exactly
     */
    static void round(float[] w, int rows, int k, int group, Int4Format.Scheme scheme, byte[] nibbles, float[] params) {
        IntStream.range(0, rows).parallel().forEach(r -> {
            byte[] q = new byte[k];
            for (int g = 0; g < k / group; g++) {
                int p = (r * (k / group) + g) * scheme.perGroup;
                if (scheme == Int4Format.Scheme.SYMMETRIC) {
                    fitSymmetric(w, r * k + g * group, group, q, g * group, params, p);
                } else {
                    fitAffine(w, r * k + g * group, group, q, g * group, params, p);
                }
            }
            for (int j = 0; j < k / 2; j++) {
                nibbles[r * (k / 2) + j] = (byte) (q[2 * j] | q[2 * j + 1] << 4);
            }
        });
    }

    /**
     * An affine group's fit: its scale and zero into {@code params[p], params[p + 1]}, its levels into {@code q[qOff..]}. Each
     * pass over the group takes the levels for the current (stored) fit, their squared error, and the sums the next
     * least-squares fit needs.
     */
    private static void fitAffine(float[] w, int off, int n, byte[] q, int qOff, float[] params, int p) {
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float x = w[off + i];
            min = x < min ? x : min;
            max = x > max ? x : max;
            sum += x;
        }
        float range = max - min;
        // a constant group gets scale 1: its levels are then 0 and it dequantises exactly
        float scale = bf16(range == 0 ? 1f : range / 15f);
        float zero = bf16(min + 8 * scale);
        double mean = sum / n, bestError = Double.POSITIVE_INFINITY;
        float bestScale = scale, bestZero = zero;
        for (int round = 0; ; round++) {
            double error = 0, levelSum = 0, levelSquares = 0, levelTimesWeight = 0;
            float inverse = 1f / scale;
            for (int i = 0; i < n; i++) {
                float x = w[off + i];
                int l = level(x, inverse, zero);
                double d = (l - 8) * scale + zero - x;
                error += d * d;
                levelSum += l;
                levelSquares += l * l;
                levelTimesWeight += l * (double) x;
            }
            if (error < bestError) {
                bestError = error;
                bestScale = scale;
                bestZero = zero;
            }
            if (round == REFINEMENTS || error == 0) {
                break;
            }
            double levelMean = levelSum / n;
            double variance = levelSquares - n * levelMean * levelMean;
            double covariance = levelTimesWeight - n * levelMean * mean;
            if (!(variance > 0) || !(covariance > 0)) {
                break;   // all levels equal: no slope to fit
            }
            double fitted = covariance / variance;
            scale = bf16((float) fitted);
            zero = bf16((float) (mean - fitted * (levelMean - 8)));
            if (!(scale > 0) || !Float.isFinite(zero)) {
                break;
            }
        }
        params[p] = bestScale;
        params[p + 1] = bestZero;
        float inverse = 1f / bestScale;
        for (int i = 0; i < n; i++) {
            q[qOff + i] = (byte) level(w[off + i], inverse, bestZero);
        }
    }

    /** A symmetric group's fit: its scale into {@code params[p]}, its levels into {@code q[qOff..]}. */
    private static void fitSymmetric(float[] w, int off, int n, byte[] q, int qOff, float[] params, int p) {
        float extreme = 0;
        for (int i = 0; i < n; i++) {
            extreme = Math.abs(w[off + i]) > Math.abs(extreme) ? w[off + i] : extreme;
        }
        // an all-zero group gets scale 1: its levels are then 8 and it dequantises exactly
        float scale = extreme == 0 ? 1f : bf16(-extreme / 8f);
        double bestError = Double.POSITIVE_INFINITY;
        float bestScale = scale;
        for (int round = 0; ; round++) {
            double error = 0, squares = 0, timesWeight = 0;
            float inverse = 1f / scale;
            for (int i = 0; i < n; i++) {
                float x = w[off + i];
                int c = level(x, inverse, 0f) - 8;
                double d = c * scale - x;
                error += d * d;
                squares += c * c;
                timesWeight += c * (double) x;
            }
            if (error < bestError) {
                bestError = error;
                bestScale = scale;
            }
            if (round == REFINEMENTS || error == 0 || !(squares > 0)) {
                break;
            }
            scale = bf16((float) (timesWeight / squares));
            if (scale == 0 || !Float.isFinite(scale)) {
                break;
            }
        }
        params[p] = bestScale;
        float inverse = 1f / bestScale;
        for (int i = 0; i < n; i++) {
            q[qOff + i] = (byte) level(w[off + i], inverse, 0f);
        }
    }

    /** The level in [0, 15] nearest a weight for this scale (as its inverse) and zero; ties to even. */
    static int level(float x, float inverseScale, float zero) {
        float v = (float) Math.rint((x - zero) * inverseScale + 8f);
        return v <= 0f ? 0 : v >= 15f ? 15 : (int) v;
    }

    /** A finite float rounded to the nearest bfloat16 (ties to even), as a float: what the stored params hold. */
    static float bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }
}
