package org.emovit.data.llm;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * How to reach the chat-completions endpoint and how hard to try.
 *
 * @param baseUrl             API root ({@code OPENAI_BASE_URL}; default {@code https://api.openai.com/v1})
 * @param apiKey              bearer token ({@code OPENAI_API_KEY}); never printed
 * @param model               model name ({@code OPENAI_MODEL}; default {@code gpt-4}, the seed's)
 * @param temperature         sampling temperature (the seed's 1.0)
 * @param maxCompletionTokens per-reply limit, or null for the server's default (the seed sets none)
 * @param concurrency         requests in flight at once
 * @param maxAttempts         attempts per image, first included, before the image is recorded as failed
 * @param backoffBase         first retry's back-off; doubles each retry (with jitter: the wait is uniform in
 *                            [d/2, d])
 * @param backoffMax          cap on the exponential back-off
 * @param maxRetryAfter       cap on a server's {@code Retry-After}
 * @param requestTimeout      one request's timeout
 * @param maxRequests         run budget: HTTP requests (attempts), {@link Long#MAX_VALUE} for none
 * @param maxTokens           run budget: prompt + completion tokens, {@link Long#MAX_VALUE} for none
 * @param jitterSeed          seed for the jitter, or null for a random one
 */
public record LlmOptions(String baseUrl, String apiKey, String model, double temperature, Long maxCompletionTokens,
                         int concurrency, int maxAttempts, Duration backoffBase, Duration backoffMax,
                         Duration maxRetryAfter, Duration requestTimeout, long maxRequests, long maxTokens,
                         Long jitterSeed) {

    public static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";
    public static final String DEFAULT_MODEL = "gpt-4";

    public LlmOptions {
        if (concurrency < 1 || maxAttempts < 1) {
            throw new IllegalArgumentException("concurrency and max attempts must be at least 1");
        }
        if (maxRequests < 0 || maxTokens < 0) {
            throw new IllegalArgumentException("budgets must not be negative");
        }
    }

    /** Defaults, with base URL, key and model from the process environment. */
    public static LlmOptions fromEnv() {
        return fromEnv(System.getenv());
    }

    /** Defaults, with {@code OPENAI_BASE_URL}, {@code OPENAI_API_KEY} and {@code OPENAI_MODEL} from {@code env}. */
    public static LlmOptions fromEnv(Map<String, String> env) {
        String url = env.getOrDefault("OPENAI_BASE_URL", "");
        String model = env.getOrDefault("OPENAI_MODEL", "");
        return new LlmOptions(url.isBlank() ? DEFAULT_BASE_URL : url.strip(), env.get("OPENAI_API_KEY"),
                model.isBlank() ? DEFAULT_MODEL : model.strip(), 1.0, null, 4, 6, Duration.ofSeconds(1),
                Duration.ofSeconds(60), Duration.ofSeconds(120), Duration.ofSeconds(120), Long.MAX_VALUE,
                Long.MAX_VALUE, null);
    }

    public LlmOptions withBaseUrl(String v) {
        return new LlmOptions(v, apiKey, model, temperature, maxCompletionTokens, concurrency, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withApiKey(String v) {
        return new LlmOptions(baseUrl, v, model, temperature, maxCompletionTokens, concurrency, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withModel(String v) {
        return new LlmOptions(baseUrl, apiKey, v, temperature, maxCompletionTokens, concurrency, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withTemperature(double v) {
        return new LlmOptions(baseUrl, apiKey, model, v, maxCompletionTokens, concurrency, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withMaxCompletionTokens(Long v) {
        return new LlmOptions(baseUrl, apiKey, model, temperature, v, concurrency, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withConcurrency(int v) {
        return new LlmOptions(baseUrl, apiKey, model, temperature, maxCompletionTokens, v, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withMaxAttempts(int v) {
        return new LlmOptions(baseUrl, apiKey, model, temperature, maxCompletionTokens, concurrency, v,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withBackoff(Duration base, Duration max) {
        return new LlmOptions(baseUrl, apiKey, model, temperature, maxCompletionTokens, concurrency, maxAttempts,
                base, max, maxRetryAfter, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withMaxRetryAfter(Duration v) {
        return new LlmOptions(baseUrl, apiKey, model, temperature, maxCompletionTokens, concurrency, maxAttempts,
                backoffBase, backoffMax, v, requestTimeout, maxRequests, maxTokens, jitterSeed);
    }

    public LlmOptions withRequestTimeout(Duration v) {
        return new LlmOptions(baseUrl, apiKey, model, temperature, maxCompletionTokens, concurrency, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, v, maxRequests, maxTokens, jitterSeed);
    }

    /** Run budget; {@link Long#MAX_VALUE} for no limit. */
    public LlmOptions withBudget(long requests, long tokens) {
        return new LlmOptions(baseUrl, apiKey, model, temperature, maxCompletionTokens, concurrency, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, requests, tokens, jitterSeed);
    }

    public LlmOptions withJitterSeed(Long v) {
        return new LlmOptions(baseUrl, apiKey, model, temperature, maxCompletionTokens, concurrency, maxAttempts,
                backoffBase, backoffMax, maxRetryAfter, requestTimeout, maxRequests, maxTokens, v);
    }

    /** A client for these options (the official SDK); see {@link #requireKey()}. */
    public ChatClient newClient() {
        requireKey();
        return new OpenAiChatClient(baseUrl, apiKey, requestTimeout);
    }

    /**
     * Fails when there is no API key and the endpoint is not on this machine: such a run could only collect 401s,
     * so it is refused before any request (and before hours of captioning in a chain). A local server
     * ({@code localhost}, a loopback address) may need no key.
     *
     * @throws IllegalArgumentException naming {@code OPENAI_API_KEY} and the endpoint
     */
    public void requireKey() {
        if ((apiKey == null || apiKey.isBlank()) && !isLoopback(baseUrl)) {
            throw new IllegalArgumentException("no API key for " + baseUrl
                    + ": set OPENAI_API_KEY (only a server on this machine may go without one)");
        }
    }

    /** Whether the URL's host is {@code localhost} or a loopback address literal (no name lookup). */
    static boolean isLoopback(String url) {
        String host;
        try {
            host = URI.create(url.strip()).getHost();
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (host == null) {
            return false;
        }
        host = host.toLowerCase(Locale.ROOT);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return host.equals("localhost") || host.endsWith(".localhost") || host.startsWith("127.")
                || host.equals("::1") || host.equals("0:0:0:0:0:0:0:1");
    }

    @Override
    public String toString() {
        return "LlmOptions[baseUrl=" + baseUrl + ", apiKey=" + (apiKey == null || apiKey.isEmpty() ? "(none)" : "(set)")
                + ", model=" + model + ", temperature=" + temperature + ", maxCompletionTokens=" + maxCompletionTokens
                + ", concurrency=" + concurrency + ", maxAttempts=" + maxAttempts + ", backoff=" + backoffBase + ".."
                + backoffMax + ", maxRetryAfter=" + maxRetryAfter + ", requestTimeout=" + requestTimeout
                + ", maxRequests=" + (maxRequests == Long.MAX_VALUE ? "none" : maxRequests)
                + ", maxTokens=" + (maxTokens == Long.MAX_VALUE ? "none" : maxTokens) + "]";
    }
}
