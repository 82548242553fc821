package org.emovit.data.llm;

/**
 * A chat completion's reply.
 *
 * @param content          the assistant message
 * @param promptTokens     usage as the server reported it (0 when it reported none)
 * @param completionTokens usage as the server reported it (0 when it reported none)
 * @param usageReported    whether the server sent a usage object
 * @param model            the model the server says answered (may be empty)
 */
public record ChatResult(String content, long promptTokens, long completionTokens, boolean usageReported,
                         String model) {
}
