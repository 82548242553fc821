package org.emovit.data.llm;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A run's "stop now" flag, shared by its workers: the first reason (and its one-line message) wins, and every
 * waiting worker wakes at once. Waits go through {@link #pause} rather than {@link Thread#sleep} so that a stop
 * ends a back-off or a {@code Retry-After} pause immediately.
 *
 * @param <R> the caller's vocabulary of reasons
 */
final class StopSignal<R> {
    private record Why<R>(R reason, String message) {
    }

    private final AtomicReference<Why<R>> why = new AtomicReference<>();
    private final CountDownLatch latch = new CountDownLatch(1);

    /** Stops the run; only the first call's reason and message are kept. */
    void stop(R reason, String message) {
        why.compareAndSet(null, new Why<>(reason, message));
        latch.countDown();
    }

    boolean stopped() {
        return latch.getCount() == 0;
    }

    /** The first reason given, or {@code otherwise} when the run was not stopped. */
    R reason(R otherwise) {
        Why<R> w = why.get();
        return w == null ? otherwise : w.reason();
    }

    /** The first stop's message, or null. */
    String message() {
        Why<R> w = why.get();
        return w == null ? null : w.message();
    }

    /** Sleeps up to {@code nanos}, waking early when the run is stopped; false when it is stopped. */
    boolean pause(long nanos) {
        if (nanos <= 0) {
            return !stopped();
        }
        try {
            return !latch.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
