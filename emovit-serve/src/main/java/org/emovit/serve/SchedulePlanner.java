package org.emovit.serve;

import java.util.ArrayList;
import java.util.List;
import org.emovit.api.EmoVit;

/**
 * Decides what the model does next, each time it is free: between two decoding steps of the running batch, or
 * idle. It only decides — no model, no clock, no queue of its own — so every policy below is tested without a model.
 * <ul>
 *   <li>Generations (chat answers and explanations alike) join the running batch at once, in arrival order, up to
 *   max-batch rows; each row decodes with its own settings, so nothing waits for a batch with other settings.</li>
 *   <li>Classifications of the oldest waiting one's mode run together (up to max-batch) between two decoding steps:
 *   the running rows wait for one classification pass, never for an explanation (that is a generation). While rows
 *   run, a pass takes at most the images the scheduler says fit in about one piece of a heat map's time, so that
 *   neither kind of stall is much longer than the other.</li>
 *   <li>Heat maps of classified images run in pieces (a Grad-CAM map: its forward pass, then its backward pass a
 *   layer at a time), one piece per decision, before anything else that stalls the rows, at once whether or
 *   not rows run: between two decoding steps the running rows wait for at most one piece of one map — never for
 *   several, nor for a piece and a classification pass. A map under way heads the queue until done;
 *   classifications wait for the maps of those before them, which continue accepted requests.</li>
 *   <li>When nothing runs, the oldest waiting request's kind goes first, once max-batch of its kind wait or it has
 *   waited max-wait; until then the planner says how long to wait for more.</li>
 * </ul>
 */
final class SchedulePlanner {
    private final int maxBatch;
    private final long maxWaitNanos;

    /** What a waiting request asks of the model. */
    enum Kind { CLASSIFY, GENERATE, HEATMAP }

    /** A waiting request as the planner sees it: its kind, a classification's mode (else null), when it arrived. */
    record Waiting(Kind kind, EmoVit.Mode mode, long arrivedNanos) {
        static Waiting classification(EmoVit.Mode mode, long arrivedNanos) {
            return new Waiting(Kind.CLASSIFY, mode, arrivedNanos);
        }

        static Waiting generation(long arrivedNanos) {
            return new Waiting(Kind.GENERATE, null, arrivedNanos);
        }

        static Waiting heatmap(long arrivedNanos) {
            return new Waiting(Kind.HEATMAP, null, arrivedNanos);
        }
    }

    /**
     * What to do now: compute the next piece of this waiting heat map (at most one), run these waiting classifications (indices into
     * the waiting list), let these waiting generations join, or, when all are empty, wait this long for more before
     * deciding again (0: nothing waits).
     */
    record Plan(List<Integer> heatmap, List<Integer> classify, List<Integer> join, long waitNanos) {
        boolean idle() {
            return heatmap.isEmpty() && classify.isEmpty() && join.isEmpty();
        }
    }

    SchedulePlanner(int maxBatch, long maxWaitNanos) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("max batch must be at least 1, not " + maxBatch);
        }
        this.maxBatch = maxBatch;
        this.maxWaitNanos = maxWaitNanos;
    }

    /**
     * @param waiting     the waiting requests, oldest first
     * @param runningRows rows of the running generation batch (0: nothing runs)
     * @param now         the current time, on the clock of {@link Waiting#arrivedNanos}
     */
    Plan plan(List<Waiting> waiting, int runningRows, long now) {
        return plan(waiting, runningRows, now, maxBatch);
    }

    /**
     * @param stallImages at a token boundary (rows running), the most images one classification pass may take
     *                    (at least 1; max-batch for no limit)
     */
    Plan plan(List<Waiting> waiting, int runningRows, long now, int stallImages) {
        List<Integer> join = generations(waiting, maxBatch - runningRows);
        for (int i = 0; i < waiting.size(); i++) {
            if (waiting.get(i).kind() == Kind.HEATMAP) {
                // one piece of one map is all the running rows wait for; generations still join (a map has no batch to fill)
                return new Plan(List.of(i), List.of(), join, 0);
            }
        }
        List<Integer> classify = classifications(waiting, runningRows > 0 ? Math.max(1, Math.min(stallImages, maxBatch)) : maxBatch);
        if (runningRows > 0) {
            return new Plan(List.of(), classify, join, 0);   // at a token boundary: nobody waits for a fuller batch
        }
        if (waiting.isEmpty()) {
            return new Plan(List.of(), List.of(), List.of(), 0);
        }
        Waiting oldest = waiting.get(0);
        boolean classification = oldest.kind() == Kind.CLASSIFY;
        List<Integer> mine = classification ? classify : join;
        long waited = now - oldest.arrivedNanos();
        if (mine.size() < maxBatch && waited < maxWaitNanos) {
            return new Plan(List.of(), List.of(), List.of(), maxWaitNanos - waited);
        }
        return classification ? new Plan(List.of(), classify, List.of(), 0) : new Plan(List.of(), List.of(), join, 0);
    }

    /** The waiting classifications of the oldest one's mode, up to {@code most}. */
    private static List<Integer> classifications(List<Waiting> waiting, int most) {
        List<Integer> out = new ArrayList<>();
        EmoVit.Mode mode = null;
        for (int i = 0; i < waiting.size() && out.size() < most; i++) {
            Waiting w = waiting.get(i);
            if (w.kind() == Kind.CLASSIFY && (mode == null || mode == w.mode())) {
                mode = w.mode();
                out.add(i);
            }
        }
        return out;
    }

    /** The oldest waiting generations, at most {@code room}. */
    private static List<Integer> generations(List<Waiting> waiting, int room) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < waiting.size() && out.size() < room; i++) {
            if (waiting.get(i).kind() == Kind.GENERATE) {
                out.add(i);
            }
        }
        return out;
    }
}
