package org.emovit.smoke;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible chat-completions server on loopback for {@code emovit data}: a real HTTP server that answers in
 * the Q/A form EmoVIT's prompts ask for, fails the requests it is told to (429 with {@code Retry-After: 0}, or 500),
 * can hold one request unanswered (so a test can kill the client while it waits), and counts what each question (system
 * prompt and user message) was paid for: a reply is paid when its 200 has been sent.
 */
final class ChatEndpoint implements AutoCloseable {
    private final HttpServer server;
    final AtomicInteger requests = new AtomicInteger();
    /** Request numbers (0-based) answered with 429 and with 500. */
    volatile Set<Integer> rateLimited = Set.of();
    volatile Set<Integer> serverErrors = Set.of();
    /** The request with this number is held until {@link #release()}; -1 for none. */
    volatile int hold = -1;
    final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    /** Replies sent with 200, per question asked (system prompt and user message). */
    final Map<String, AtomicInteger> paid = new ConcurrentHashMap<>();

    ChatEndpoint() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "chat-endpoint");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/v1/chat/completions", this::answer);
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    int paidTotal() {
        return paid.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    void release() {
        released.countDown();
    }

    private void answer(HttpExchange ex) throws IOException {
        try (ex) {
            int n = requests.getAndIncrement();
            JsonNode body = Inputs.JSON.readTree(ex.getRequestBody());
            // what was asked: the system prompt (one per instruction kind) and the user message (an image's block)
            StringBuilder asked = new StringBuilder();
            for (JsonNode m : body.get("messages")) {
                asked.append(m.get("role").asText()).append(": ").append(m.get("content").asText()).append('\n');
            }
            if (n == hold) {
                held.countDown();
                released.await();
                return;   // the client is gone by now: nothing is sent, nothing is paid
            }
            if (rateLimited.contains(n)) {
                ex.getResponseHeaders().add("Retry-After", "0");
                send(ex, 429, "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit\"}}");
                return;
            }
            if (serverErrors.contains(n)) {
                send(ex, 500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
                return;
            }
            String content = "Question: What is in the picture (" + n + ")?\\nAnswer: A small toy on a table, which looks friendly.";
            send(ex, 200, "{\"id\":\"c" + n + "\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"test\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"" + content + "\"},\"finish_reason\":\"stop\"}],"
                    + "\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":20,\"total_tokens\":70}}");
            paid.computeIfAbsent(asked.toString(), u -> new AtomicInteger()).incrementAndGet();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void send(HttpExchange ex, int status, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    @Override
    public void close() {
        release();
        server.stop(0);
    }
}
