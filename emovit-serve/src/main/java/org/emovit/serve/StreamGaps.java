package org.emovit.serve;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * How long a running stream is stalled: one streamed chat completion, the time each of its chunks arrives, and the
 * gaps between consecutive chunks. The first chunk's wait (queue and prefill) is not a gap: it is before the stream
 * runs. What serve-bench reports beside its load, and what the heat-map scheduling test bounds.
 */
public final class StreamGaps {
    private StreamGaps() {
    }

    /**
     * @param chunks      data chunks received ([DONE] not counted)
     * @param worstNanos  the longest gap between two consecutive chunks
     * @param medianNanos the median gap
     */
    public record Gaps(int chunks, long worstNanos, long medianNanos) {
        public double worstMs() {
            return worstNanos / 1e6;
        }

        public double medianMs() {
            return medianNanos / 1e6;
        }
    }

    /** Sends this streamed chat completion and times its chunks as they arrive. */
    public static Gaps measure(HttpClient http, HttpRequest streamedChat) throws IOException, InterruptedException {
        HttpResponse<Stream<String>> r = http.send(streamedChat, HttpResponse.BodyHandlers.ofLines());
        List<Long> arrivals = new ArrayList<>();
        try (Stream<String> lines = r.body()) {
            if (r.statusCode() != 200) {
                throw new IOException("the stream was answered " + r.statusCode() + ": " + lines.collect(Collectors.joining(" ")));
            }
            lines.forEach(line -> {
                if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
                    arrivals.add(System.nanoTime());
                }
            });
        }
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < arrivals.size(); i++) {
            gaps.add(arrivals.get(i) - arrivals.get(i - 1));
        }
        Collections.sort(gaps);
        return new Gaps(arrivals.size(), gaps.isEmpty() ? 0 : gaps.get(gaps.size() - 1), gaps.isEmpty() ? 0 : gaps.get(gaps.size() / 2));
    }
}
