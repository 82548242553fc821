package org.emovit.serve;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What /metrics reports, in Prometheus text: requests by endpoint and status, request latency, model pass time and
 * batch size histograms, rows and time per decoding step, the gap between two steps, queue depth, images and generated tokens (counters, and
 * per-second gauges over 10 s).
 */
public final class ServeMetrics {
    private static final long WINDOW = TimeUnit.SECONDS.toNanos(10);

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Counter images;
    private final Counter tokens;
    private final Counter cancelled;
    // registered once: recorded on the model's thread at every token
    private final DistributionSummary decodeRows;
    private final Timer decodeStepLatency;
    private final Timer decodeGap;
    private final DistributionSummary decodeGapPasses;
    private final Timer decodeGapOutsidePasses;
    private final RateWindow imageRate = new RateWindow(WINDOW);
    private final RateWindow tokenRate = new RateWindow(WINDOW);

    public ServeMetrics() {
        images = Counter.builder("emovit.images").description("images classified").register(registry);
        tokens = Counter.builder("emovit.generated.tokens").description("tokens generated").register(registry);
        decodeRows = DistributionSummary.builder("emovit.decode.rows").description("generation rows advanced by one decoding step")
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128).register(registry);
        decodeStepLatency = Timer.builder("emovit.decode.step.latency").description("time of one decoding step")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
        decodeGap = Timer.builder("emovit.decode.gap").description("time between two decoding steps of rows that run on: the step and "
                        + "whatever ran before it (a heat map, a classification pass, generations joining); its max is the worst "
                        + "wait between two tokens of a running stream over the last 2 minutes")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
        decodeGapPasses = DistributionSummary.builder("emovit.decode.gap.passes").description("pieces of heat maps and classification passes run "
                        + "between two decoding steps of rows that run on (the planner allows one)")
                .serviceLevelObjectives(1, 2, 4, 8, 16).register(registry);
        decodeGapOutsidePasses = Timer.builder("emovit.decode.gap.outside.passes").description("the part of each gap between two decoding "
                        + "steps not spent in heat maps and classification passes: the step itself, generations joining, the loop")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
        cancelled = Counter.builder("emovit.cancelled.generations").description("generations ended because the client went away")
                .register(registry);
        Gauge.builder("emovit.images.per.second", () -> imageRate.perSecond(System.nanoTime()))
                .description("images classified per second over the last 10 s").register(registry);
        Gauge.builder("emovit.tokens.per.second", () -> tokenRate.perSecond(System.nanoTime()))
                .description("tokens generated per second over the last 10 s").register(registry);
    }

    void queueDepth(Supplier<Number> depth) {
        Gauge.builder("emovit.queue.depth", depth).description("requests waiting for the model").register(registry);
    }

    /**
     * The running batch's KV cache: positions of its longest row, and bytes allocated. Both follow the rows running
     * (they fall when rows leave, and are 0 when none runs), not the time since the batch began.
     */
    void kvCache(Supplier<Number> length, Supplier<Number> bytes) {
        Gauge.builder("emovit.kv.cache.length", length).description("positions of the running batch's longest row").register(registry);
        Gauge.builder("emovit.kv.cache.bytes", bytes).description("bytes of the running batch's KV cache").register(registry);
    }

    public void request(String endpoint, int status, long nanos) {
        Counter.builder("emovit.requests").description("HTTP requests by endpoint and status")
                .tag("endpoint", endpoint).tag("status", Integer.toString(status)).register(registry).increment();
        Timer.builder("emovit.request.latency").description("HTTP request latency").tag("endpoint", endpoint)
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(5))
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    void batch(String kind, int size, long nanos) {
        DistributionSummary.builder("emovit.batch.size").description("requests per model pass (a classification, or the prefill of "
                        + "generations joining the running batch)").tag("kind", kind)
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128).register(registry).record(size);
        Timer.builder("emovit.batch.latency").description("time of one model pass").tag("kind", kind)
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(5))
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * One decoding step of the running generation batch: the rows it advanced (rows join and leave between steps,
     * so this, not the joins, says how full the batch runs) and its time.
     */
    void decodeStep(int rows, long nanos) {
        decodeRows.record(rows);
        decodeStepLatency.record(nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * The time from the last decoding step's end to this one's, for rows that ran in both, and the stalling passes
     * (heat maps, classification passes) that ran in it, and how long they took together.
     */
    void decodeGap(long nanos, int passes, long passNanos) {
        decodeGap.record(nanos, TimeUnit.NANOSECONDS);
        decodeGapPasses.record(passes);
        decodeGapOutsidePasses.record(Math.max(0, nanos - passNanos), TimeUnit.NANOSECONDS);
    }

    void images(int n) {
        images.increment(n);
        imageRate.add(n, System.nanoTime());
    }

    void cancelled() {
        cancelled.increment();
    }

    void tokens(int n) {
        tokens.increment(n);
        tokenRate.add(n, System.nanoTime());
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        return registry.scrape();
    }
}
