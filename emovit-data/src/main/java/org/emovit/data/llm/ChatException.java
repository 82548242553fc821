package org.emovit.data.llm;

import java.time.Duration;

/** A chat request that did not give a usable reply, classified for the retry policy. */
public class ChatException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why the request failed. */
    public enum Kind {
        /** HTTP 429. Retried, after {@code Retry-After} when the server sent one. */
        RATE_LIMITED(true),
        /** HTTP 5xx, 408, 409. Retried. */
        SERVER_ERROR(true),
        /** No answer within the request timeout. Retried. */
        TIMEOUT(true),
        /** A connection that broke or was reset mid-request. Retried. */
        IO(true),
        /**
         * A JSON answer that is not a chat completion (cut-off JSON, no choices, no content): a server under load
         * does this now and then. Retried.
         */
        MALFORMED_RESPONSE(true),
        /**
         * No connection at all (refused, unknown host, no route): every request would fail the same way, and
         * waiting for each image's retries only delays saying so. The run stops.
         */
        UNREACHABLE(false, true),
        /**
         * A 2xx answer that is not JSON at all (an HTML login page, a proxy's error page): the URL is not a
         * chat-completions API. The run stops.
         */
        NOT_JSON(false, true),
        /** HTTP 401 / 403: every request would fail the same way, so the run stops. */
        AUTH(false, true),
        /** Any other 4xx: this request is wrong; the item fails without retry. */
        CLIENT_ERROR(false);

        private final boolean retryable;
        private final boolean stopsRun;

        Kind(boolean retryable) {
            this(retryable, false);
        }

        Kind(boolean retryable, boolean stopsRun) {
            this.retryable = retryable;
            this.stopsRun = stopsRun;
        }

        public boolean retryable() {
            return retryable;
        }

        /** Every later request would fail the same way: the run stops rather than failing image after image. */
        public boolean stopsRun() {
            return stopsRun;
        }
    }

    private final Kind kind;
    private final int status;
    private final transient Duration retryAfter;

    public ChatException(Kind kind, int status, Duration retryAfter, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.status = status;
        this.retryAfter = retryAfter;
    }

    public Kind kind() {
        return kind;
    }

    /** The HTTP status, or 0 when there was no HTTP answer. */
    public int status() {
        return status;
    }

    /** The wait the server asked for ({@code retry-after-ms} or {@code Retry-After}), or null. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
