package org.emovit.data.llm;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** What a run's HTTP requests came to: how many, how many were retries, tokens, failures by kind. Thread-safe. */
final class RequestTally {
    final AtomicLong requests = new AtomicLong();
    final AtomicLong retries = new AtomicLong();
    final AtomicLong promptTokens = new AtomicLong();
    final AtomicLong completionTokens = new AtomicLong();
    private final Map<String, AtomicLong> failedByKind = new ConcurrentHashMap<>();

    void started(int attempt) {
        requests.incrementAndGet();
        if (attempt > 1) {
            retries.incrementAndGet();
        }
    }

    void answered(ChatResult r) {
        promptTokens.addAndGet(r.promptTokens());
        completionTokens.addAndGet(r.completionTokens());
    }

    void failed(ChatException.Kind kind) {
        failedByKind.computeIfAbsent(kind.name(), k -> new AtomicLong()).incrementAndGet();
    }

    /** Failed requests per {@link ChatException.Kind} name, a copy. */
    Map<String, Long> failedByKind() {
        Map<String, Long> m = new LinkedHashMap<>();
        failedByKind.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }
}
