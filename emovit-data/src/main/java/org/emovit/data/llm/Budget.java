package org.emovit.data.llm;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A run's spending limit: at most {@code maxRequests} HTTP requests (every attempt counts, retries included) and
 * {@code maxTokens} prompt + completion tokens. A request is only started while both are under their limit; the
 * requests already in flight when the token limit is reached still finish (and are recorded), so the token count
 * can end above the limit by at most what those requests used.
 */
public final class Budget {
    private final long maxRequests;
    private final long maxTokens;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong tokens = new AtomicLong();

    public Budget(long maxRequests, long maxTokens) {
        this.maxRequests = maxRequests;
        this.maxTokens = maxTokens;
    }

    public static Budget unlimited() {
        return new Budget(Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /** Takes one request from the budget; false (and nothing taken) when the budget is spent. */
    public boolean tryStartRequest() {
        if (tokens.get() >= maxTokens) {
            return false;
        }
        while (true) {
            long r = requests.get();
            if (r >= maxRequests) {
                return false;
            }
            if (requests.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    public void addTokens(long n) {
        tokens.addAndGet(n);
    }

    public long requests() {
        return requests.get();
    }

    public long tokens() {
        return tokens.get();
    }

    public boolean exhausted() {
        return requests.get() >= maxRequests || tokens.get() >= maxTokens;
    }
}
