package org.emovit.serve;

import java.util.ArrayDeque;

/** Events per second over the last few seconds (a gauge for dashboards; the counters give exact totals). */
final class RateWindow {
    private final long windowNanos;
    private final ArrayDeque<long[]> events = new ArrayDeque<>();

    RateWindow(long windowNanos) {
        this.windowNanos = windowNanos;
    }

    synchronized void add(long n, long nowNanos) {
        events.addLast(new long[] {nowNanos, n});
        prune(nowNanos);
    }

    synchronized double perSecond(long nowNanos) {
        prune(nowNanos);
        long sum = 0;
        for (long[] e : events) {
            sum += e[1];
        }
        return sum / (windowNanos / 1e9);
    }

    private void prune(long now) {
        while (!events.isEmpty() && now - events.peekFirst()[0] > windowNanos) {
            events.removeFirst();
        }
    }
}
