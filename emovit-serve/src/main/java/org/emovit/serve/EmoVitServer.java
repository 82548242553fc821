package org.emovit.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.config.SizeUnit;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.emovit.core.Errors;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;

/**
 * `emovit serve`: the HTTP front of one model (Javalin on Jetty). Routes: the OpenAI-compatible chat completions,
 * the emotion endpoint, models, health, readiness, Prometheus metrics and the web page. HTTP threads parse, decode
 * images and hand work to the {@link ModelScheduler}; they answer when its futures complete, never waiting on the
 * model. {@link #close()} is the graceful stop: refuse new requests, finish the accepted ones, then stop.
 */
public final class EmoVitServer implements AutoCloseable {
    private static final Set<String> ROUTES = Set.of("/", "/v1/chat/completions", "/v1/emotions", "/v1/models", "/health",
            "/ready", "/metrics");
    private static final String STARTED = "emovit.started";
    /** The largest refused body still read to its end so that the 413 reaches the client (see discardBody). */
    private static final long DRAIN_LIMIT = 64L << 20;

    private final EmoVit emoVit;
    private final ServerSettings settings;
    private final String modelName;
    private final ServeMetrics metrics = new ServeMetrics();
    private final ModelScheduler scheduler;
    private final ExecutorService io;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Javalin app;
    private final byte[] page;
    private volatile boolean stopping;

    /** Opens the model of this spec and serves it. */
    public static EmoVitServer start(ModelSpec spec, ServerSettings settings) {
        EmoVit emoVit = spec.open();
        try {
            return new EmoVitServer(emoVit, spec.displayName(), settings);
        } catch (RuntimeException e) {
            emoVit.close();
            throw e;
        }
    }

    /** Serves an opened model (closed with the server) under this name; listening when the constructor returns. */
    public EmoVitServer(EmoVit emoVit, String modelName, ServerSettings settings) {
        this.emoVit = emoVit;
        this.settings = settings;
        this.modelName = modelName;
        this.page = resource("web/index.html");
        this.io = Executors.newCachedThreadPool(daemon("emovit-io"));
        this.scheduler = new ModelScheduler(emoVit, settings, metrics, io);
        ImageLoader images = new ImageLoader(settings, io);
        ChatCompletionsHandler chat = new ChatCompletionsHandler(scheduler, images, io, modelName);
        EmotionsHandler emotions = new EmotionsHandler(scheduler, images, io, modelName);
        this.app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.http.maxRequestSize = settings.maxBodyBytes();
            config.http.compressionStrategy = CompressionStrategy.NONE;
            config.jetty.multipartConfig.maxTotalRequestSize(settings.maxBodyBytes(), SizeUnit.BYTES);
            config.jetty.multipartConfig.maxFileSize(settings.maxBodyBytes(), SizeUnit.BYTES);
            // In-flight requests are drained before Jetty stops (see close), so its own stop need not wait long.
            config.jetty.modifyServer(server -> server.setStopTimeout(5000));
            config.routes.before(this::admit);
            config.routes.get("/", ctx -> ctx.contentType("text/html; charset=utf-8").result(page));
            config.routes.get("/health", ctx -> ctx.contentType("application/json").result("{\"status\":\"ok\"}"));
            config.routes.get("/ready", this::ready);
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
            config.routes.get("/v1/models", this::models);
            config.routes.post("/v1/chat/completions", chat);
            config.routes.post("/v1/emotions", emotions);
            config.routes.after(this::record);
            config.routes.exception(ApiException.class, (e, ctx) -> fail(ctx, e));
            config.routes.exception(TimeoutException.class, (e, ctx) -> fail(ctx, ApiException.deadline(settings.timeout().toMillis())));
            config.routes.exception(HttpResponseException.class, (e, ctx) -> fail(ctx, fromJavalin(e)));
            config.routes.exception(Exception.class, (e, ctx) -> fail(ctx, ApiException.internal(Errors.firstLine(e))));
        });
        try {
            app.start(settings.host(), settings.port());
        } catch (RuntimeException e) {
            scheduler.close();
            io.shutdownNow();
            throw e;
        }
    }

    public int port() {
        return app.port();
    }

    /** The base URL clients use (http://host:port). */
    public String url() {
        String host = settings.host().contains(":") ? "[" + settings.host() + "]" : settings.host();
        return "http://" + (settings.host().equals("0.0.0.0") ? "127.0.0.1" : host) + ":" + port();
    }

    public String modelName() {
        return modelName;
    }

    public ServeMetrics metrics() {
        return metrics;
    }

    /** Requests being answered now (HTTP level, streams included). */
    public int inFlight() {
        return inFlight.get();
    }

    /** The gate every request passes: shutdown, body size and the API key (the page, health and metrics are open). */
    private void admit(Context ctx) {
        ctx.attribute(STARTED, System.nanoTime());
        inFlight.incrementAndGet();
        if (stopping) {
            throw ApiException.unavailable("the server is shutting down");
        }
        long length = ctx.contentLength();
        if (length > settings.maxBodyBytes()) {
            discardBody(ctx, length);
            throw ApiException.tooLarge(settings.maxBodyBytes());
        }
        if (settings.apiKey() != null && ctx.path().startsWith("/v1/")) {
            String auth = ctx.header("Authorization");
            String expected = "Bearer " + settings.apiKey();
            if (auth == null) {
                throw ApiException.unauthorized("missing API key: send the header 'Authorization: Bearer KEY'");
            }
            if (!MessageDigest.isEqual(auth.strip().getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8))) {
                throw ApiException.unauthorized("incorrect API key");
            }
        }
    }

    /**
     * Reads and drops a refused body that is not huge before answering 413. Answering first and closing the
     * connection with the body unread makes the kernel reset it, and the client, still sending, may then lose the
     * 413 itself (a lingering close, as nginx does). Bodies over {@link #DRAIN_LIMIT} are cut off instead.
     */
    private static void discardBody(Context ctx, long length) {
        if (length > DRAIN_LIMIT) {
            return;
        }
        try (InputStream in = ctx.req().getInputStream()) {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            // The client went away: nothing left to protect.
        }
    }

    private void record(Context ctx) {
        inFlight.decrementAndGet();
        Long started = ctx.attribute(STARTED);
        String endpoint = ROUTES.contains(ctx.path()) ? ctx.path() : "other";
        metrics.request(endpoint, ctx.statusCode(), started == null ? 0 : System.nanoTime() - started);
    }

    private void ready(Context ctx) {
        boolean ready = !stopping && scheduler.isAccepting();
        ctx.status(ready ? 200 : 503).contentType("application/json")
                .result(ready ? "{\"status\":\"ready\",\"model\":" + Json.MAPPER.valueToTree(modelName) + "}" : "{\"status\":\"stopping\"}");
    }

    private void models(Context ctx) {
        ObjectNode root = Json.object();
        root.put("object", "list");
        ObjectNode m = root.putArray("data").addObject();
        m.put("id", modelName);
        m.put("object", "model");
        m.put("created", 0);
        m.put("owned_by", "emovit");
        ctx.contentType("application/json").result(root.toString());
    }

    private static void fail(Context ctx, ApiException e) {
        if (e.retryAfterSeconds() != null) {
            ctx.header("Retry-After", Integer.toString(e.retryAfterSeconds()));
        }
        ctx.status(e.status()).contentType("application/json").result(e.json());
    }

    private ApiException fromJavalin(HttpResponseException e) {
        return switch (e.getStatus()) {
            case 404 -> ApiException.notFound("no route " + e.getMessage().replace("Endpoint ", "").replace(" not found", "")
                    + " (see GET /v1/models, POST /v1/chat/completions, POST /v1/emotions)");
            case 413 -> ApiException.tooLarge(settings.maxBodyBytes());
            case 400 -> ApiException.badRequest(null, e.getMessage());
            default -> new ApiException(e.getStatus(), "invalid_request_error", null, null, e.getMessage(), null);
        };
    }

    /**
     * Graceful stop: new requests get 503, the accepted ones finish (the model drains its queue), then Jetty stops
     * and the model is freed. Bounded by the request timeout.
     */
    @Override
    public void close() {
        stopping = true;
        scheduler.close();
        long until = System.nanoTime() + settings.timeout().toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < until) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        app.stop();
        io.shutdown();
        try {
            io.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        emoVit.close();
    }

    private static byte[] resource(String name) {
        try (InputStream in = EmoVitServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing from the build");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
