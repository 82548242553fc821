package org.emovit.serve;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
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

    /**
     * The same stall as the server timed it, from two /metrics scrapes around a load: its worst gap between two
     * decoding steps (and the part of it outside heat-map pieces and classification passes), the most of those in one gap, and
     * the Grad-CAM passes run between the scrapes. Issue 26's target: the worst gap at most 1.5x one Grad-CAM pass
     * (the median pass). The gap maxima and the longest pass are Prometheus maxima (the last 2 minutes); the median
     * is read from the pass time histogram between the scrapes, interpolated within its bucket.
     *
     * @param worstGapMs     the longest gap between two decoding steps of rows that ran on
     * @param worstOutsideMs the longest part of a gap outside the passes (the step, joins, the loop)
     * @param mostPasses     the most pieces of heat maps and classification passes in one gap
     * @param maps           Grad-CAM passes between the scrapes
     * @param medianPassMs   their median time (NaN without any)
     * @param longestPassMs  the longest Grad-CAM pass
     */
    public record ServerGaps(double worstGapMs, double worstOutsideMs, int mostPasses, long maps, double medianPassMs, double longestPassMs) {
        /** The target: the worst gap within this many Grad-CAM passes. */
        public static final double TARGET = 1.5;
        private static final String MAP = "{kind=\"heatmap\"";
        private static final String BUCKET = "emovit_batch_latency_seconds_bucket" + MAP + ",le=\"";

        public static ServerGaps between(String before, String after) {
            long maps = Math.round(delta(before, after, "emovit_batch_latency_seconds_count" + MAP));
            return new ServerGaps(1000 * PrometheusText.sum(after, "emovit_decode_gap_seconds_max"),
                    1000 * PrometheusText.sum(after, "emovit_decode_gap_outside_passes_seconds_max"),
                    (int) PrometheusText.sum(after, "emovit_decode_gap_passes_max"), maps, 1000 * median(before, after),
                    1000 * PrometheusText.sum(after, "emovit_batch_latency_seconds_max" + MAP));
        }

        /** The worst gap in median Grad-CAM passes. */
        public double ratio() {
            return worstGapMs / medianPassMs;
        }

        public boolean met() {
            return ratio() <= TARGET;
        }

        /** What the test and serve-bench print, one line each. */
        public List<String> describe() {
            String gaps = String.format(Locale.ROOT, "server: worst gap between two decoding steps %.1f ms, worst part of a gap outside heat-map "
                    + "pieces and classification passes %.1f ms; at most %d of those in one gap (last 2 min)", worstGapMs, worstOutsideMs, mostPasses);
            if (maps == 0) {
                return List.of(gaps, "Grad-CAM passes: 0 (no target to compare with)");
            }
            return List.of(gaps,
                    String.format(Locale.ROOT, "Grad-CAM passes: %d, median %.1f ms, longest %.1f ms (last 2 min)", maps, medianPassMs, longestPassMs),
                    String.format(Locale.ROOT, "target: worst gap <= %.1fx one Grad-CAM pass (the median): %.2fx, %s", TARGET, ratio(),
                            met() ? "met" : "not met"));
        }

        private static double delta(String before, String after, String prefix) {
            return PrometheusText.sum(after, prefix) - PrometheusText.sum(before, prefix);
        }

        /** The median of the heat-map pass times recorded between the scrapes, in seconds (NaN: none). */
        private static double median(String before, String after) {
            TreeMap<Double, Double> counts = buckets(after);
            buckets(before).forEach((le, n) -> counts.merge(le, -n, Double::sum));
            Double total = counts.isEmpty() ? null : counts.lastEntry().getValue();
            if (total == null || total <= 0) {
                return Double.NaN;
            }
            double lower = 0, below = 0;
            for (var e : counts.entrySet()) {
                if (e.getValue() >= total / 2) {
                    double upper = e.getKey().isInfinite() ? lower : e.getKey();
                    double inBucket = e.getValue() - below;
                    return inBucket <= 0 ? upper : lower + (upper - lower) * (total / 2 - below) / inBucket;
                }
                lower = e.getKey();
                below = e.getValue();
            }
            return Double.NaN;
        }

        /** Cumulative counts of the heat-map pass time histogram by upper bound (seconds). */
        private static TreeMap<Double, Double> buckets(String scrape) {
            TreeMap<Double, Double> out = new TreeMap<>();
            for (String line : scrape.split("\n")) {
                if (line.startsWith(BUCKET)) {
                    String le = line.substring(BUCKET.length(), line.indexOf('"', BUCKET.length()));
                    out.put(le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le),
                            Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
                }
            }
            return out;
        }
    }
}
