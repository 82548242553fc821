package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The server's gaps read from two scrapes: the median Grad-CAM pass from the histogram between them, and the target. */
class StreamGapsTest {
    static String scrape(int below10ms, int below20ms, int below40ms, double gapSeconds) {
        String b = "emovit_batch_latency_seconds_bucket{kind=\"heatmap\",le=\"";
        int total = below10ms + below20ms + below40ms;
        return String.join("\n",
                b + "0.01\"} " + below10ms + ".0",
                b + "0.02\"} " + (below10ms + below20ms) + ".0",
                b + "0.04\"} " + total + ".0",
                b + "+Inf\"} " + total + ".0",
                "emovit_batch_latency_seconds_count{kind=\"heatmap\",} " + total + ".0",
                "emovit_batch_latency_seconds_max{kind=\"heatmap\",} 0.035",
                "emovit_decode_gap_seconds_max " + gapSeconds,
                "emovit_decode_gap_outside_passes_seconds_max 0.004",
                "emovit_decode_gap_passes_max 1.0", "");
    }

    @Test
    void theMedianPassIsReadFromTheBucketsBetweenTheScrapes() {
        // before: 10 fast passes; between the scrapes: 2 more below 10 ms, 4 in 10-20 ms, 2 in 20-40 ms
        StreamGaps.ServerGaps g = StreamGaps.ServerGaps.between(scrape(10, 0, 0, 0.01), scrape(12, 4, 2, 0.027));
        assertThat(g.maps()).isEqualTo(8);
        assertThat(g.medianPassMs()).as("the 4th of 8 passes: half way through the 10-20 ms bucket").isCloseTo(15, within(1e-9));
        assertThat(g.longestPassMs()).isCloseTo(35, within(1e-9));
        assertThat(g.worstOutsideMs()).isCloseTo(4, within(1e-9));
        assertThat(g.mostPasses()).isEqualTo(1);
        assertThat(g.ratio()).isCloseTo(1.8, within(1e-9));
        assertThat(g.met()).isFalse();
        assertThat(g.describe()).hasSize(3).last().asString().contains("1.80x", "not met");
        assertThat(StreamGaps.ServerGaps.between(scrape(10, 0, 0, 0.01), scrape(12, 4, 2, 0.0222)).describe().get(2)).endsWith("1.48x, met");
    }

    @Test
    void withoutPassesThereIsNoTarget() {
        StreamGaps.ServerGaps g = StreamGaps.ServerGaps.between(scrape(3, 0, 0, 0.01), scrape(3, 0, 0, 0.01));
        assertThat(g.maps()).isZero();
        assertThat(g.describe()).containsExactly(g.describe().get(0), "Grad-CAM passes: 0 (no target to compare with)");
    }
}
