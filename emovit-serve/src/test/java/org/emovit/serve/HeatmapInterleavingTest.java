package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 26, case 2: with 8 clients asking /v1/emotions for Grad-CAM maps back to back, a running chat stream stalled
 * for several maps at a time. Maps are now the planner's work, one between two decoding steps: the stream's worst
 * gap between chunks stays within 1.5 times one Grad-CAM pass as the server timed it under the same load.
 */
class HeatmapInterleavingTest {
    static final int CLIENTS = 8;
    static final int TOKENS = 96;

    @Test
    void aRunningStreamWaitsForAtMostOneHeatMapBetweenTwoChunks() throws Exception {
        try (EmoVitServer server = Fixtures.start(ServerSettings.defaults())) {
            String heatmap = "{\"image\":\"" + Fixtures.dataUrl("gray.png") + "\",\"heatmap\":true}";
            HttpRequest map = HttpRequest.newBuilder(URI.create(server.url() + "/v1/emotions")).POST(HttpRequest.BodyPublishers.ofString(heatmap)).build();
            HttpRequest stream = HttpRequest.newBuilder(URI.create(server.url() + "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(ChatRequestJson.of("photo.jpg", TOKENS, true))).build();
            for (int i = 0; i < 3; i++) {   // warm: the JIT, the allocator, both kinds of pass
                assertThat(Fixtures.send(map).statusCode()).isEqualTo(200);
            }
            StreamGaps.Gaps alone = StreamGaps.measure(Fixtures.HTTP, stream);

            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger failed = new AtomicInteger();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        if (Fixtures.HTTP.sendAsync(map, HttpResponse.BodyHandlers.ofString()).join().statusCode() != 200) {
                            failed.incrementAndGet();
                        }
                    }
                }, "heatmap-client-" + c);
                t.start();
                clients.add(t);
            }
            Thread.sleep(300);   // the clients' first maps are under way
            String before = Fixtures.get(server, "/metrics").body();
            StreamGaps.Gaps loaded;
            try {
                loaded = StreamGaps.measure(Fixtures.HTTP, stream);
            } finally {
                stop.set(true);
                for (Thread t : clients) {
                    t.join();
                }
            }
            String after = Fixtures.get(server, "/metrics").body();
            StreamGaps.ServerGaps gaps = StreamGaps.ServerGaps.between(before, after);
            System.out.printf(Locale.ROOT, "stream of %d chunks alone: worst gap %.1f ms, median %.1f ms%n", alone.chunks(), alone.worstMs(), alone.medianMs());
            System.out.printf(Locale.ROOT, "beside %d heat-map clients: %d chunks, worst gap %.1f ms, median %.1f ms%n", CLIENTS,
                    loaded.chunks(), loaded.worstMs(), loaded.medianMs());
            gaps.describe().forEach(System.out::println);
            assertThat(failed.get()).isZero();
            assertThat(loaded.chunks()).as("the same greedy answer as alone").isEqualTo(alone.chunks());
            assertThat(gaps.maps()).as("maps computed while the stream ran").isGreaterThanOrEqualTo(CLIENTS);
            // The old loop ran a classified batch's maps back to back between two steps: 2 to 8 passes in one gap.
            assertThat(gaps.mostPasses()).as("heat maps and classification passes in one gap").isEqualTo(1);
            // Compared with the longest single Grad-CAM pass of the same run: on a shared 2-core machine one pass can take 3x
            // the mean, and a gap that held one such pass is still one pass. Two maps or a classified batch's maps back to
            // back are 2-8 passes.
            assertThat(gaps.worstGapMs()).as("worst gap between two tokens vs the longest Grad-CAM pass")
                    .isLessThanOrEqualTo(StreamGaps.ServerGaps.TARGET * gaps.longestPassMs());
        }
    }
}
