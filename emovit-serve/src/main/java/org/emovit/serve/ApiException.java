package org.emovit.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A request that fails with an HTTP status and OpenAI's error body
 * {@code {"error": {"message", "type", "param", "code"}}}, which every endpoint uses so one client-side handler
 * reads them all. The message is one line naming the field at fault.
 */
public final class ApiException extends RuntimeException {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final Integer retryAfterSeconds;

    ApiException(int status, String type, String param, String code, String message, Integer retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: the request (the named field) is wrong. */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, param == null ? message : param + ": " + message, null);
    }

    /** 400: the image in the named field cannot be decoded (the decoder's message names the field and the reason). */
    public static ApiException invalidImage(org.emovit.image.ImageDecodeException e) {
        return new ApiException(400, "invalid_request_error", e.name(), "invalid_image", e.getMessage(), null);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, "invalid_request_error", null, "invalid_api_key", message, null);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "invalid_request_error", null, "not_found", message, null);
    }

    public static ApiException tooLarge(long limitBytes) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "request body larger than the server's limit of " + limitBytes + " bytes (--max-body-mb)", null);
    }

    public static ApiException queueFull(int retryAfterSeconds) {
        return new ApiException(429, "rate_limit_error", null, "queue_full",
                "the server's queue is full (--max-queue); retry after " + retryAfterSeconds + " s", retryAfterSeconds);
    }

    public static ApiException deadline(long timeoutMs) {
        return new ApiException(504, "timeout_error", null, "timeout", "the request did not finish within the server's timeout of "
                + timeoutMs + " ms (--timeout)", null);
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, "server_error", null, "unavailable", message, 5);
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", null, null, message, null);
    }

    public int status() {
        return status;
    }

    public Integer retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public String json() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", getMessage());
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return root.toString();
    }
}
