package org.emovit.data.llm;

/**
 * One chat-completion request, no retries (the caller retries: {@link RequestPolicy} owns back-off, budget and
 * cost accounting). Implementations must be thread-safe.
 */
public interface ChatClient extends AutoCloseable {

    /**
     * Sends {@code [system, user]} and returns the first choice's message.
     *
     * @param maxCompletionTokens null for the server's default
     */
    ChatResult complete(String model, double temperature, Long maxCompletionTokens, String system, String user)
            throws ChatException;

    @Override
    default void close() {
    }
}
