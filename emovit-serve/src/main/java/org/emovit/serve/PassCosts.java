package org.emovit.serve;

/**
 * What the model's stalling passes have cost lately, as the scheduler times them (moving averages, model's thread
 * only): a piece of a heat map (maps run in pieces, one between two decoding steps), and a classification pass of
 * each batch size. From them, how many images one classification pass may take between two decoding steps to cost no
 * more than about one piece of a map, so that a running stream's wait between two tokens is about one piece whichever
 * kind of work ran (at least one image, whatever it costs).
 */
final class PassCosts {
    /** Weight of the newest pass in the averages: about the last ten passes count. */
    private static final double NEWEST = 0.2;

    private double mapNanos;   // a piece of a map; 0: none timed yet
    private double[] classifyNanos = new double[0];   // by batch size; 0: that size not timed yet

    void mapPiece(long nanos) {
        mapNanos = average(mapNanos, nanos);
    }

    void classified(int images, long nanos) {
        if (images >= classifyNanos.length) {
            classifyNanos = java.util.Arrays.copyOf(classifyNanos, images + 1);
        }
        classifyNanos[images] = average(classifyNanos[images], nanos);
    }

    private static double average(double old, long newest) {
        return old == 0 ? newest : old + NEWEST * (newest - old);
    }

    /**
     * The most images whose classification pass is expected to cost at most one piece of a heat map (at least 1);
     * {@code unlimited} until a map and a classification have been timed (without maps there is nothing to match).
     * A size not timed yet is expected to cost the nearest timed size's time in proportion to its images: for sizes
     * above it that overestimates (a pass's fixed part is counted again), so the limit grows only once timed.
     */
    int imagesPerMapPiece(int unlimited) {
        if (mapNanos == 0) {
            return unlimited;
        }
        int best = 0;
        for (int k = 1; k <= unlimited; k++) {
            double expected = expected(k);
            if (Double.isNaN(expected)) {
                return unlimited;   // no classification timed yet
            }
            if (expected <= mapNanos) {
                best = k;
            }
        }
        return Math.max(1, best);
    }

    private double expected(int k) {
        if (k < classifyNanos.length && classifyNanos[k] > 0) {
            return classifyNanos[k];
        }
        for (int d = 1; d < classifyNanos.length + k; d++) {
            for (int j : new int[] {k - d, k + d}) {
                if (j > 0 && j < classifyNanos.length && classifyNanos[j] > 0) {
                    return classifyNanos[j] * k / j;
                }
            }
        }
        return Double.NaN;
    }
}
