package org.emovit.data.llm;

import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How hard to try for one item's reply: up to {@link LlmOptions#maxAttempts()} requests, each taken from the
 * run's {@link Budget}; a retryable failure waits an exponential back-off with jitter, or the server's
 * {@code Retry-After} (capped at {@link LlmOptions#maxRetryAfter()}), and a {@code Retry-After} also holds back
 * every other worker's next request, because the server said so for the whole key, not for this image. Any
 * other failure ends the item at once; whether it also ends the run ({@link ChatException.Kind#stopsRun()}) is
 * the caller's decision.
 *
 * <p>The policy knows nothing of files: each attempt is reported to an {@link AttemptLog}.
 */
final class RequestPolicy {

    /** One chat request. */
    interface Request {
        ChatResult send() throws ChatException;
    }

    /** Told about every request sent, answered or not. */
    interface AttemptLog {
        /**
         * @param reply  the reply, or null when the request failed
         * @param failed the failure, or null when it was answered
         * @param millis the request's latency
         */
        void attempt(int attempt, ChatResult reply, ChatException failed, long millis);
    }

    /** How an item's requests ended. */
    sealed interface Result permits Answered, Failed, BudgetSpent, Stopped {
    }

    /** A reply, after {@code attempts} requests. */
    record Answered(ChatResult reply, int attempts) implements Result {
    }

    /** No reply: the last request's failure was not retryable, or it was the last attempt. */
    record Failed(ChatException last, int attempts) implements Result {
    }

    /** The budget had no request left; nothing was sent for this attempt. */
    record BudgetSpent() implements Result {
    }

    /** The run was stopped before or between attempts. */
    record Stopped() implements Result {
    }

    private final LlmOptions llm;
    private final Budget budget;
    private final StopSignal<?> stop;
    private final RequestTally tally;
    private final Random jitter;
    /** No request starts before this {@link System#nanoTime()}: the latest {@code Retry-After}'s end. */
    private final AtomicLong notBefore = new AtomicLong(System.nanoTime());

    RequestPolicy(LlmOptions llm, Budget budget, StopSignal<?> stop, RequestTally tally) {
        this.llm = llm;
        this.budget = budget;
        this.stop = stop;
        this.tally = tally;
        this.jitter = llm.jitterSeed() != null ? new Random(llm.jitterSeed()) : new Random();
    }

    Result call(Request request, AttemptLog log) {
        ChatException last = null;
        for (int attempt = 1; attempt <= llm.maxAttempts(); attempt++) {
            if (!stop.pause(notBefore.get() - System.nanoTime())) {
                return new Stopped();
            }
            if (!budget.tryStartRequest()) {
                return new BudgetSpent();
            }
            tally.started(attempt);
            long t0 = System.nanoTime();
            try {
                ChatResult r = request.send();
                budget.addTokens(r.promptTokens() + r.completionTokens());
                tally.answered(r);
                log.attempt(attempt, r, null, (System.nanoTime() - t0) / 1_000_000);
                return new Answered(r, attempt);
            } catch (ChatException ex) {
                last = ex;
                tally.failed(ex.kind());
                log.attempt(attempt, null, ex, (System.nanoTime() - t0) / 1_000_000);
                if (!ex.kind().retryable() || attempt == llm.maxAttempts()) {
                    return new Failed(ex, attempt);
                }
                if (ex.retryAfter() != null) {
                    long until = System.nanoTime() + Math.min(ex.retryAfter().toNanos(), llm.maxRetryAfter().toNanos());
                    notBefore.accumulateAndGet(until, Math::max);
                }
                if (!stop.pause(backoffNanos(attempt, ex.retryAfter()))) {
                    return new Stopped();
                }
            }
        }
        return new Failed(last, llm.maxAttempts());
    }

    /** Exponential back-off with jitter, or the server's Retry-After (capped) plus a little jitter. */
    long backoffNanos(int failedAttempt, Duration retryAfter) {
        double base = llm.backoffBase().toNanos();
        if (retryAfter != null) {
            long ra = Math.min(retryAfter.toNanos(), llm.maxRetryAfter().toNanos());
            return ra + (long) (nextJitter() * base / 2);
        }
        double d = Math.min(llm.backoffMax().toNanos(), base * Math.pow(2, failedAttempt - 1));
        return (long) (d / 2 + nextJitter() * d / 2);
    }

    private double nextJitter() {
        synchronized (jitter) {
            return jitter.nextDouble();
        }
    }
}
