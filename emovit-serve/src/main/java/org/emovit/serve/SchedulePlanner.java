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
 *   the running rows wait for one classification pass, never for an explanation (that is a generation).</li>
 *   <li>When nothing runs, the oldest waiting request's kind goes first, once max-batch of its kind wait or it has
 *   waited max-wait; until then the planner says how long to wait for more.</li>
 * </ul>
 */
final class SchedulePlanner {
    private final int maxBatch;
    private final long maxWaitNanos;

    /** A waiting request as the planner sees it: a classification (with its mode) or a generation. */
    record Waiting(boolean classification, EmoVit.Mode mode, long arrivedNanos) {
        static Waiting classification(EmoVit.Mode mode, long arrivedNanos) {
            return new Waiting(true, mode, arrivedNanos);
        }

        static Waiting generation(long arrivedNanos) {
            return new Waiting(false, null, arrivedNanos);
        }
    }

    /**
     * What to do now: run these waiting classifications (indices into the waiting list), let these waiting
     * generations join, or, when both are empty, wait this long for more before deciding again (0: nothing waits).
     */
    record Plan(List<Integer> classify, List<Integer> join, long waitNanos) {
        boolean idle() {
            return classify.isEmpty() && join.isEmpty();
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
        List<Integer> classify = classifications(waiting);
        List<Integer> join = generations(waiting, maxBatch - runningRows);
        if (runningRows > 0) {
            return new Plan(classify, join, 0);   // at a token boundary: nobody waits for a fuller batch
        }
        if (waiting.isEmpty()) {
            return new Plan(List.of(), List.of(), 0);
        }
        Waiting oldest = waiting.get(0);
        List<Integer> mine = oldest.classification() ? classify : join;
        long waited = now - oldest.arrivedNanos();
        if (mine.size() < maxBatch && waited < maxWaitNanos) {
            return new Plan(List.of(), List.of(), maxWaitNanos - waited);
        }
        return oldest.classification() ? new Plan(classify, List.of(), 0) : new Plan(List.of(), join, 0);
    }

    /** The waiting classifications of the oldest one's mode, up to max-batch. */
    private List<Integer> classifications(List<Waiting> waiting) {
        List<Integer> out = new ArrayList<>();
        EmoVit.Mode mode = null;
        for (int i = 0; i < waiting.size() && out.size() < maxBatch; i++) {
            Waiting w = waiting.get(i);
            if (w.classification() && (mode == null || mode == w.mode())) {
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
            if (!waiting.get(i).classification()) {
                out.add(i);
            }
        }
        return out;
    }
}
