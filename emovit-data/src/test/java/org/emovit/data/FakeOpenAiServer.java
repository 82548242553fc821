package org.emovit.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * A small OpenAI-compatible chat-completions server on 127.0.0.1 (a real HTTP server, not a mock): answers
 * {@code POST /v1/chat/completions} with a reply and usage tokens, or — as its fault plan says — with 429 and
 * {@code Retry-After}, 500, a hang past the client's timeout, or malformed JSON. It counts everything.
 */
final class FakeOpenAiServer implements AutoCloseable {

    enum Fault { NONE, RATE_LIMIT, SERVER_ERROR, HANG, MALFORMED, UNAUTHORIZED, BAD_REQUEST, HTML }

    /** Decides each request's fate from its number (0-based) and user message. */
    interface FaultPlan {
        Fault next(int requestNo, String user);

        static FaultPlan none() {
            return (n, u) -> Fault.NONE;
        }

        /** {@code rate} of requests fail, the failure chosen evenly among 429, 500, hang and malformed JSON. */
        static FaultPlan random(long seed, double rate) {
            Random r = new Random(seed);
            Fault[] kinds = {Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.HANG, Fault.MALFORMED};
            return (n, u) -> {
                synchronized (r) {
                    return r.nextDouble() < rate ? kinds[r.nextInt(kinds.length)] : Fault.NONE;
                }
            };
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-openai");
        t.setDaemon(true);
        return t;
    });
    private final CountDownLatch hangRelease = new CountDownLatch(1);

    volatile FaultPlan plan = FaultPlan.none();
    volatile String retryAfter = "0";
    volatile Function<String, String> replies = FakeOpenAiServer::defaultReply;
    volatile IntConsumer onSuccess = n -> { };

    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger successes = new AtomicInteger();
    final AtomicLong promptTokens = new AtomicLong();
    final AtomicLong completionTokens = new AtomicLong();
    final Map<Fault, AtomicInteger> faults = new ConcurrentHashMap<>();
    /** Successful (paid) answers per user message. */
    final Map<String, AtomicInteger> answeredByUser = new ConcurrentHashMap<>();
    final List<Long> requestNanos = Collections.synchronizedList(new ArrayList<>());
    final List<JsonNode> bodies = Collections.synchronizedList(new ArrayList<>());
    final List<String> authHeaders = Collections.synchronizedList(new ArrayList<>());

    FakeOpenAiServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(pool);
        server.createContext("/v1/chat/completions", this::handle);
        server.start();
    }

    private static boolean warmedUp;

    /** Sends one request through the SDK client, so that class loading stays out of short test timeouts. */
    static synchronized void warmUpClient() throws Exception {
        if (warmedUp) {
            return;
        }
        try (FakeOpenAiServer s = new FakeOpenAiServer();
             org.emovit.data.llm.ChatClient c = new org.emovit.data.llm.OpenAiChatClient(s.baseUrl(), "k",
                     java.time.Duration.ofSeconds(30))) {
            c.complete("m", 1.0, null, "system", "user");
        }
        warmedUp = true;
    }

    /** {@code http://127.0.0.1:PORT/v1}. */
    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    static String defaultReply(String user) {
        String first = user.lines().findFirst().orElse("");
        return "Question: What does the picture show?\nAnswer: It shows " + first + ".\n\n"
                + "Question: Is there a giraffe in it?\nAnswer: No, there is no giraffe.\n\n"
                + "Complex Question: Why does it feel this way?\nAnswer: Because of the light.\n\nAnd the colours.";
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            int no = requests.getAndIncrement();
            requestNanos.add(System.nanoTime());
            authHeaders.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
            JsonNode body = JSON.readTree(ex.getRequestBody().readAllBytes());
            bodies.add(body);
            String system = "";
            String user = "";
            for (JsonNode m : body.path("messages")) {
                if ("system".equals(m.path("role").asText())) {
                    system = m.path("content").asText();
                } else if ("user".equals(m.path("role").asText())) {
                    user = m.path("content").asText();
                }
            }
            Fault f = plan.next(no, user);
            if (f != Fault.NONE) {
                faults.computeIfAbsent(f, k -> new AtomicInteger()).incrementAndGet();
            }
            switch (f) {
                case RATE_LIMIT -> {
                    ex.getResponseHeaders().add("Retry-After", retryAfter);
                    send(ex, 429, "{\"error\": {\"message\": \"Rate limit reached\", \"type\": \"requests\", \"code\": \"rate_limit_exceeded\"}}");
                    return;
                }
                case SERVER_ERROR -> {
                    send(ex, 500, "{\"error\": {\"message\": \"The server had an error\", \"type\": \"server_error\"}}");
                    return;
                }
                case UNAUTHORIZED -> {
                    send(ex, 401, "{\"error\": {\"message\": \"Incorrect API key provided\", \"type\": \"invalid_request_error\", \"code\": \"invalid_api_key\"}}");
                    return;
                }
                case BAD_REQUEST -> {
                    send(ex, 400, "{\"error\": {\"message\": \"bad request\", \"type\": \"invalid_request_error\"}}");
                    return;
                }
                case HANG -> {
                    try {
                        hangRelease.await(3, TimeUnit.SECONDS);
                    } catch (InterruptedException ignored) {
                        Thread.currentThread().interrupt();
                    }
                    try {
                        send(ex, 500, "{\"error\": {\"message\": \"too late\"}}");
                    } catch (IOException ignored) {
                        // the client has gone
                    }
                    return;
                }
                case HTML -> {
                    // what a captive portal or a wrong URL behind a web server sends
                    send(ex, 200, "text/html; charset=utf-8",
                            "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please sign in</body></html>");
                    return;
                }
                case MALFORMED -> {
                    send(ex, 200, "{\"id\": \"chatcmpl-broken\", \"object\": \"chat.completion\", \"choices\": [{\"index\": 0, \"mess");
                    return;
                }
                default -> {
                }
            }
            String content = replies.apply(user);
            long pt = (system.length() + user.length()) / 4 + 1;
            long ct = content.length() / 4 + 1;
            ObjectNode r = JSON.createObjectNode();
            r.put("id", "chatcmpl-" + no);
            r.put("object", "chat.completion");
            r.put("created", 1700000000L + no);
            r.put("model", body.path("model").asText());
            ObjectNode choice = r.putArray("choices").addObject();
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", content);
            choice.put("finish_reason", "stop");
            r.putObject("usage").put("prompt_tokens", pt).put("completion_tokens", ct).put("total_tokens", pt + ct);
            // count before sending: once the bytes are out, the request is paid for
            promptTokens.addAndGet(pt);
            completionTokens.addAndGet(ct);
            answeredByUser.computeIfAbsent(user, k -> new AtomicInteger()).incrementAndGet();
            int n = successes.incrementAndGet();
            send(ex, 200, JSON.writeValueAsString(r));
            onSuccess.accept(n);
        }
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        send(ex, status, "application/json", body);
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", contentType);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    int faultCount(Fault f) {
        AtomicInteger a = faults.get(f);
        return a == null ? 0 : a.get();
    }

    @Override
    public void close() {
        hangRelease.countDown();
        server.stop(0);
        pool.shutdownNow();
    }
}
