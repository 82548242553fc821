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
 * for several maps at a time. Maps are now the planner's work, in pieces (the forward pass, the backward pass a
 * layer at a time), one piece between two decoding steps: the stream's worst gap between chunks stays within
 * 1.5 times one Grad-CAM pass (the median, as the server timed the whole maps under the same load).
 *
 * <p>Measured as a server runs once its JVM is warm: a first server takes the same load, streams included, for a few
 * seconds while the JIT compiles the paths (on 2 cores its compiler threads otherwise take a core from the model's
 * thread for seconds), and the measurement runs on a second one, whose metrics hold only its own gaps.
 */
class HeatmapInterleavingTest {
    static final int CLIENTS = 8;
    static final int TOKENS = 96;
    static final long WARM_MILLIS = 4000;

    @Test
    void aRunningStreamWaitsForAtMostOneHeatMapBetweenTwoChunks() throws Exception {
        try (EmoVitServer warm = Fixtures.start(ServerSettings.defaults())) {
            Load load = new Load(warm);
            try {
                long end = System.currentTimeMillis() + WARM_MILLIS;
                while (System.currentTimeMillis() < end) {
                    StreamGaps.measure(Fixtures.HTTP, stream(warm));
                }
            } finally {
                load.stop();
            }
        }
        // Issue 26's target, against the median pass. One measurement is one stream's ~96 gaps on a shared 2-core
        // machine, where a young collection (5-15 ms here) or a descheduled model thread landing in a gap is about one
        // pass: a second server measures again when the first misses. With whole maps between two steps, every
        // measurement here gave 1.7-4x; with maps in pieces a layer stack each 0.9-1.5x, a layer each 0.7-1.1x.
        StreamGaps.ServerGaps gaps = measure();
        if (!gaps.met()) {
            gaps = measure();
        }
        assertThat(gaps.ratio()).as("worst gap between two tokens, in median Grad-CAM passes").isLessThanOrEqualTo(StreamGaps.ServerGaps.TARGET);
    }

    /** One measurement on a fresh server (its metrics hold its own gaps alone); asserts what holds for every one. */
    private static StreamGaps.ServerGaps measure() throws Exception {
        try (EmoVitServer server = Fixtures.start(ServerSettings.defaults())) {
            StreamGaps.Gaps alone = StreamGaps.measure(Fixtures.HTTP, stream(server));
            Load load = new Load(server);
            StreamGaps.Gaps loaded;
            String before, after;
            try {
                Thread.sleep(300);   // the clients' first maps are under way
                before = Fixtures.get(server, "/metrics").body();
                loaded = StreamGaps.measure(Fixtures.HTTP, stream(server));
                after = Fixtures.get(server, "/metrics").body();
            } finally {
                load.stop();
            }
            StreamGaps.ServerGaps gaps = StreamGaps.ServerGaps.between(before, after);
            System.out.printf(Locale.ROOT, "stream of %d chunks alone: worst gap %.1f ms, median %.1f ms%n", alone.chunks(), alone.worstMs(), alone.medianMs());
            System.out.printf(Locale.ROOT, "beside %d heat-map clients: %d chunks, worst gap %.1f ms, median %.1f ms%n", CLIENTS,
                    loaded.chunks(), loaded.worstMs(), loaded.medianMs());
            gaps.describe().forEach(System.out::println);
            assertThat(load.failed.get()).isZero();
            assertThat(loaded.chunks()).as("the same greedy answer as alone").isEqualTo(alone.chunks());
            // 12-22 here: with maps in pieces the stream gets a token after each piece and ends sooner
            assertThat(gaps.maps()).as("maps computed while the stream ran").isGreaterThanOrEqualTo(CLIENTS / 2);
            // The old loop ran a classified batch's maps back to back between two steps: 2 to 8 passes in one gap.
            assertThat(gaps.mostPasses()).as("pieces of heat maps and classification passes in one gap").isEqualTo(1);
            return gaps;
        }
    }

    private static HttpRequest stream(EmoVitServer server) {
        return HttpRequest.newBuilder(URI.create(server.url() + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(ChatRequestJson.of("photo.jpg", TOKENS, true))).build();
    }

    /** Clients sending /v1/emotions with a heat map, back to back, until stopped. */
    private static final class Load {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger failed = new AtomicInteger();
        final List<Thread> clients = new ArrayList<>();

        Load(EmoVitServer server) {
            String heatmap = "{\"image\":\"" + Fixtures.dataUrl("gray.png") + "\",\"heatmap\":true}";
            HttpRequest map = HttpRequest.newBuilder(URI.create(server.url() + "/v1/emotions")).POST(HttpRequest.BodyPublishers.ofString(heatmap)).build();
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
        }

        void stop() throws InterruptedException {
            stop.set(true);
            for (Thread t : clients) {
                t.join();
            }
        }
    }
}
