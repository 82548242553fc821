package org.emovit.devtools;

import org.emovit.options.ModelOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.serve.EmoVitServer;
import org.emovit.serve.PrometheusText;
import org.emovit.serve.StreamGaps;
import org.emovit.serve.ServerSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Load on a server: N clients sending back to back for T seconds, then requests/s, latency percentiles and the mean
 * batch size the server formed (from its /metrics). Without --url it serves the model in this process first, and
 * --baseline also times EmoVit.classify called directly on batches of N and N/2, the ceiling serving should approach.
 */
@Command(name = "serve-bench", mixinStandardHelpOptions = true,
        description = "Load benchmark for `emovit serve`: N concurrent clients for T seconds -> requests/s, p50/p95/p99 latency, "
                + "mean batch size; with --heatmap (or --stream-gaps), the worst gap of a stream running beside them. Without --url: serves "
                + "the model (model options) in this process.")
public final class ServeBenchCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--url", description = "A running server (default: start one here on a free port).")
    String url;

    @Option(names = "--concurrency", defaultValue = "32", description = "Clients sending at once (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--duration", defaultValue = "20", paramLabel = "S", description = "Measured seconds (default: ${DEFAULT-VALUE}).")
    int duration;

    @Option(names = "--warmup", defaultValue = "3", paramLabel = "S", description = "Unmeasured seconds first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--endpoint", defaultValue = "emotions", description = "emotions or chat (default: ${DEFAULT-VALUE}).")
    String endpoint;

    @Option(names = "--max-tokens", paramLabel = "N", description = "Chat: tokens per answer (default: 16).")
    Integer maxTokens;

    @Option(names = "--heatmap", description = "emotions: each request asks for a Grad-CAM heat map (heatmap=true).")
    boolean heatmap;

    @Option(names = "--stream-gaps", paramLabel = "TOKENS",
            description = "Beside the load, stream greedy chat answers of this many tokens one after another and report the worst gap between "
                    + "two chunks, and from the server's /metrics between two decoding steps (default: 96 with --heatmap, else off; 0: off).")
    Integer streamGaps;

    @Option(names = "--image", description = "Image to send (default: an embedded sample photo).")
    Path image;

    @Option(names = "--api-key", defaultValue = "${env:EMOVIT_API_KEY}", description = "Bearer key for the server.")
    String apiKey;

    @Option(names = "--max-wait-ms", paramLabel = "MS", description = "In-process server: batch wait (default: 5).")
    Integer maxWaitMs;

    @Option(names = "--baseline", description = "In-process only: also time EmoVit.classify directly on batches of --concurrency and half of it.")
    boolean baseline;

    @Spec
    CommandSpec spec;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!endpoint.equals("emotions") && !endpoint.equals("chat")) {
            throw new IllegalArgumentException("--endpoint must be emotions or chat, not '" + endpoint + "'");
        }
        if (url != null && (baseline || maxWaitMs != null)) {
            throw new IllegalArgumentException((baseline ? "--baseline" : "--max-wait-ms") + " only applies to the in-process server (without --url)");
        }
        if (maxTokens != null && !endpoint.equals("chat")) {
            throw new IllegalArgumentException("--max-tokens only applies with --endpoint chat");
        }
        if (heatmap && !endpoint.equals("emotions")) {
            throw new IllegalArgumentException("--heatmap only applies with --endpoint emotions");
        }
        int gapTokens = streamGaps != null ? streamGaps : heatmap ? 96 : 0;
        if (gapTokens < 0 || gapTokens > 4096) {
            throw new IllegalArgumentException("--stream-gaps must be 0..4096 tokens, got " + gapTokens);
        }
        Path img = image != null ? image : EmbeddedModel.sample("photo.jpg");
        byte[] bytes = Files.readAllBytes(img);
        String body = body(bytes);
        EmoVitServer server = null;
        double direct = 0;
        if (url == null) {
            ModelSpec spec = modelOptions.spec();
            EmoVit emoVit = spec.open();
            if (baseline) {
                // Both N and N/2: with N clients a server alternates between two groups of about N/2 unless the batch
                // wait is long, and which batch size is faster per image depends on the model and the machine.
                RgbImage decoded = ImageDecoder.decode(bytes, img.toString(), ImageDecoder.DEFAULT_MAX_PIXELS);
                for (int b : new java.util.TreeSet<>(List.of(concurrency, Math.max(1, concurrency / 2)))) {
                    double ips = directImagesPerSecond(emoVit, decoded, b);
                    out.printf(Locale.ROOT, "direct EmoVit.classify, batch %d: %.2f images/s%n", b, ips);
                    out.flush();
                    direct = Math.max(direct, ips);
                }
            }
            server = new EmoVitServer(emoVit, spec.displayName(), new ServerSettings("127.0.0.1", 0, apiKey, concurrency, maxWaitMs == null ? 5 : maxWaitMs,
                    Math.max(256, concurrency * 2), 64L << 20, Duration.ofMinutes(10), false));
            url = server.url();
        }
        try {
            String path = endpoint.equals("emotions") ? "/v1/emotions" : "/v1/chat/completions";
            out.printf(Locale.ROOT, "serve-bench: %d clients, %d s (after %d s warm-up), POST %s on %s%n", concurrency, duration, warmup, path, url);
            out.flush();
            load(path, body, warmup, null);
            String kind = endpoint.equals("emotions") ? "classify" : "generate";
            String before = metrics();
            List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
            AtomicInteger failures = new AtomicInteger();
            long start = System.nanoTime();
            GapStream gaps = gapTokens == 0 ? null : new GapStream(chatRequest(bytes, gapTokens));
            load(path, body, duration, new Object[] {latencies, failures});
            double seconds = (System.nanoTime() - start) / 1e9;
            if (gaps != null) {
                gaps.stop();
            }
            String after = metrics();
            // generations run as one continuous batch that rows join and leave: how full it ran is rows per decoding step
            boolean chat = kind.equals("generate");
            double passes = chat ? delta(before, after, "emovit_decode_rows_count") : delta(before, after, "emovit_batch_size_count{kind=\"" + kind + "\"");
            double rows = chat ? delta(before, after, "emovit_decode_rows_sum") : delta(before, after, "emovit_batch_size_sum{kind=\"" + kind + "\"");
            List<Long> sorted = new ArrayList<>(latencies);
            Collections.sort(sorted);
            double rps = sorted.size() / seconds;
            out.printf(Locale.ROOT, "requests: %d ok, %d failed; %.2f requests/s%n", sorted.size(), failures.get(), rps);
            out.printf(Locale.ROOT, "latency ms: p50 %.1f  p95 %.1f  p99 %.1f  max %.1f%n", pct(sorted, 50), pct(sorted, 95),
                    pct(sorted, 99), pct(sorted, 100));
            out.printf(Locale.ROOT, chat ? "mean rows per decoding step: %.2f (%d steps)%n" : "mean batch size: %.2f (%d model passes)%n",
                    passes == 0 ? 0 : rows / passes, (long) passes);
            if (gaps != null) {
                gaps.report(out, before, after);
            }
            if (direct > 0 && endpoint.equals("emotions")) {
                out.printf(Locale.ROOT, "served / best direct: %.1f %%%n", 100 * rps / direct);
            }
            out.flush();
            return failures.get() == 0 ? 0 : 1;
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }

    private String body(byte[] bytes) {
        if (endpoint.equals("emotions")) {
            return "{\"image\":\"" + dataUrl(bytes) + "\"" + (heatmap ? ",\"heatmap\":true}" : "}");
        }
        return chat(bytes, maxTokens == null ? 16 : maxTokens, false);
    }

    private static String dataUrl(byte[] bytes) {
        return "data:image/jpeg;base64," + Base64.getEncoder().encodeToString(bytes);
    }

    private static String chat(byte[] bytes, int tokens, boolean stream) {
        return "{\"model\":\"emovit\",\"max_tokens\":" + tokens + (stream ? ",\"stream\":true" : "") + ",\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"text\",\"text\":\"What emotion does this image evoke?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + dataUrl(bytes) + "\"}}]}]}";
    }

    private HttpRequest chatRequest(byte[] bytes, int tokens) {
        return authorised(HttpRequest.newBuilder(URI.create(url + "/v1/chat/completions")).timeout(Duration.ofMinutes(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(chat(bytes, tokens, true)))).build();
    }

    private HttpRequest.Builder authorised(HttpRequest.Builder b) {
        if (apiKey != null && !apiKey.isBlank()) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        return b;
    }

    /**
     * Streamed chat answers one after another beside the load, on a thread of their own: how long a running stream
     * waits between two chunks while the clients' requests (heat maps, classifications) run between decoding steps.
     */
    private final class GapStream {
        private final Thread thread;
        private volatile boolean stopping;
        private final List<StreamGaps.Gaps> streams = Collections.synchronizedList(new ArrayList<>());
        private final AtomicInteger failed = new AtomicInteger();

        GapStream(HttpRequest request) {
            thread = new Thread(() -> {
                while (!stopping) {
                    try {
                        streams.add(StreamGaps.measure(http, request));
                    } catch (IOException e) {
                        failed.incrementAndGet();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "serve-bench-stream");
            thread.start();
        }

        void stop() throws InterruptedException {
            stopping = true;
            thread.join();
        }

        void report(PrintWriter out, String before, String after) {
            long worst = 0, chunks = 0;
            for (StreamGaps.Gaps g : streams) {
                worst = Math.max(worst, g.worstNanos());
                chunks += g.chunks();
            }
            out.printf(Locale.ROOT, "stream beside the load: %d answer(s), %d chunks, %d failed; worst gap between two chunks %.1f ms%n",
                    streams.size(), chunks, failed.get(), worst / 1e6);
            StreamGaps.ServerGaps.between(before, after).describe().forEach(out::println);
        }
    }

    /** Runs the clients for this long; with a sink, records each latency (ns) or failure. */
    @SuppressWarnings("unchecked")
    private void load(String path, String body, int seconds, Object[] sink) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            Thread t = new Thread(() -> {
                while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    boolean ok;
                    try {
                        HttpRequest.Builder b = authorised(HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofMinutes(10))
                                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)));
                        ok = http.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
                    } catch (IOException e) {
                        ok = false;
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (sink != null) {
                        if (ok) {
                            ((List<Long>) sink[0]).add(System.nanoTime() - t0);
                        } else {
                            ((AtomicInteger) sink[1]).incrementAndGet();
                        }
                    }
                }
            }, "serve-bench-" + c);
            t.start();
            clients.add(t);
        }
        for (Thread t : clients) {
            t.join();
        }
    }

    private double directImagesPerSecond(EmoVit emoVit, RgbImage img, int size) {
        List<RgbImage> batch = Collections.nCopies(size, img);
        // Warm up as the served run does (the JIT compiles the Java image transform and tokenizers meanwhile).
        long warm = System.nanoTime() + warmup * 1_000_000_000L;
        do {
            emoVit.classify(batch, EmoVit.Mode.SCORE, GenerationConfig.emovit());
        } while (System.nanoTime() < warm);
        long start = System.nanoTime(), end = start + Math.max(1, duration) * 1_000_000_000L;
        int images = 0;
        do {
            emoVit.classify(batch, EmoVit.Mode.SCORE, GenerationConfig.emovit());
            images += size;
        } while (System.nanoTime() < end);
        return images / ((System.nanoTime() - start) / 1e9);
    }

    private String metrics() throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url + "/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private static double delta(String before, String after, String prefix) {
        return PrometheusText.sum(after, prefix) - PrometheusText.sum(before, prefix);
    }

    private static double pct(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))) / 1e6;
    }
}
