package org.emovit.data.llm;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.function.Function;

/** Reads the wait a server asks for: OpenAI's {@code retry-after-ms}, or {@code Retry-After} (seconds or an HTTP date). */
public final class RetryAfter {
    private RetryAfter() {
    }

    /**
     * @param header a header's values by (lower-case) name; an empty list or null when absent
     * @return the wait, or null when the server asked for none (or sent something unreadable)
     */
    public static Duration parse(Function<String, List<String>> header, Instant now) {
        String ms = first(header, "retry-after-ms");
        if (ms != null) {
            try {
                double v = Double.parseDouble(ms.strip());
                if (v >= 0 && Double.isFinite(v)) {
                    return Duration.ofNanos((long) (v * 1_000_000));
                }
            } catch (NumberFormatException ignored) {
                // fall through to Retry-After
            }
        }
        String s = first(header, "retry-after");
        if (s == null) {
            return null;
        }
        s = s.strip();
        try {
            double v = Double.parseDouble(s);
            return v >= 0 && Double.isFinite(v) ? Duration.ofNanos((long) (v * 1e9)) : null;
        } catch (NumberFormatException notSeconds) {
            try {
                Instant at = ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                Duration d = Duration.between(now, at);
                return d.isNegative() ? Duration.ZERO : d;
            } catch (RuntimeException notDate) {
                return null;
            }
        }
    }

    private static String first(Function<String, List<String>> header, String name) {
        List<String> v = header.apply(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }
}
