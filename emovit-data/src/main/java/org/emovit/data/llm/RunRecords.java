package org.emovit.data.llm;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * The lines of a generate run's JSON Lines files, as Jackson writes them (snake_case names, null fields left
 * out). Field names and order are the files' format: the assembler and earlier runs read them.
 */
public final class RunRecords {
    private RunRecords() {
    }

    /** One line of {@code <kind>.jsonl}: an image's reply. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Reply(String key, String emotion, String name, String id, String image, int index, String kind,
                        String model, String response, long promptTokens, long completionTokens, boolean cached,
                        int attempts, String cacheKey, String run, String time) {
    }

    /**
     * One line of {@code <kind>-cost.jsonl}: one HTTP request.
     *
     * @param outcome      {@code ok} or the {@link ChatException.Kind} name
     * @param status       the HTTP status, 0 when there was no HTTP answer
     * @param usageMissing true when an answer carried no usage (its tokens are then 0), null otherwise
     * @param retryAfterMs the wait the server asked for, or null
     * @param error        the failure, cut at 300 characters, or null
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Cost(String run, String time, String kind, String key, int attempt, String model, String outcome,
                       int status, long promptTokens, long completionTokens, Boolean usageMissing, long latencyMs,
                       Long retryAfterMs, String cacheKey, String error) {
    }

    /** One line of {@code <kind>-errors.jsonl}: an image left without a reply. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Error(String run, String time, String key, int attempts, String errorKind, int status,
                        String error) {
    }
}
