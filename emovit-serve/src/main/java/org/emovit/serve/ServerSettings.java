package org.emovit.serve;

import java.time.Duration;

/**
 * What `emovit serve` was asked for.
 *
 * @param host              interface to bind
 * @param port              0 = any free port
 * @param apiKey            null: no key required
 * @param maxBatch          most requests in one model pass
 * @param maxWaitMs         how long a pass waits for more requests to join it
 * @param maxQueue          most requests waiting for the model; beyond it, 429
 * @param maxBodyBytes      largest request body; beyond it, 413
 * @param timeout           a request not answered within it gets 504
 * @param allowRemoteImages whether image_url may be http(s) (fetched with the body limit and a time limit)
 */
public record ServerSettings(String host, int port, String apiKey, int maxBatch, int maxWaitMs, int maxQueue,
                             long maxBodyBytes, Duration timeout, boolean allowRemoteImages) {

    public ServerSettings {
        require(port >= 0 && port <= 65535, "--port must be 0..65535, not " + port);
        require(maxBatch >= 1, "--max-batch must be at least 1, not " + maxBatch);
        require(maxWaitMs >= 0, "--max-wait-ms must be >= 0, not " + maxWaitMs);
        require(maxQueue >= 1, "--max-queue must be at least 1, not " + maxQueue);
        require(maxBodyBytes >= 1024, "--max-body-mb is too small: " + maxBodyBytes + " bytes");
        require(!timeout.isNegative() && !timeout.isZero(), "--timeout must be positive, not " + timeout);
    }

    /** Loopback, an ephemeral port, no key, the command's defaults: what tests start. */
    public static ServerSettings defaults() {
        return new ServerSettings("127.0.0.1", 0, null, 16, 5, 256, 20L << 20, Duration.ofSeconds(120), false);
    }

    public ServerSettings withPort(int p) {
        return new ServerSettings(host, p, apiKey, maxBatch, maxWaitMs, maxQueue, maxBodyBytes, timeout, allowRemoteImages);
    }

    public ServerSettings withApiKey(String key) {
        return new ServerSettings(host, port, key, maxBatch, maxWaitMs, maxQueue, maxBodyBytes, timeout, allowRemoteImages);
    }

    public ServerSettings withLimits(int batch, int waitMs, int queue) {
        return new ServerSettings(host, port, apiKey, batch, waitMs, queue, maxBodyBytes, timeout, allowRemoteImages);
    }

    public ServerSettings withMaxBodyBytes(long bytes) {
        return new ServerSettings(host, port, apiKey, maxBatch, maxWaitMs, maxQueue, bytes, timeout, allowRemoteImages);
    }

    public ServerSettings withTimeout(Duration t) {
        return new ServerSettings(host, port, apiKey, maxBatch, maxWaitMs, maxQueue, maxBodyBytes, t, allowRemoteImages);
    }

    public ServerSettings withRemoteImages(boolean allow) {
        return new ServerSettings(host, port, apiKey, maxBatch, maxWaitMs, maxQueue, maxBodyBytes, timeout, allow);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
