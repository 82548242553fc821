package org.emovit.serve;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A server-sent-event response written from a writer pool, never from the model's thread: {@link #send} only
 * queues a frame, and the frames of one stream are written in order by one task at a time. A failed write means
 * the client has gone; {@link #closed()} then turns true so its generation row can leave the batch.
 */
final class SseStream implements TokenSink {
    private static final String END = new String("end");

    private final HttpServletResponse response;
    private final Executor writer;
    private final ConcurrentLinkedQueue<String> frames = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final java.util.function.Function<String, String> textFrame;
    private volatile boolean closed;
    private volatile boolean anySent;
    private boolean started;

    /** @param textFrame turns a piece of generated text into the JSON of one event (for {@link #onText}) */
    SseStream(HttpServletResponse response, Executor writer, java.util.function.Function<String, String> textFrame) {
        this.response = response;
        this.writer = writer;
        this.textFrame = textFrame;
    }

    /** Completes when the last frame has been written (or the client has gone). */
    CompletableFuture<Void> done() {
        return done;
    }

    void send(String json) {
        anySent = true;
        frames.add("data: " + json + "\n\n");
        schedule();
    }

    /** Ends the stream with OpenAI's terminator. */
    void finish() {
        frames.add("data: [DONE]\n\n");
        frames.add(END);
        schedule();
    }

    @Override
    public void onText(String delta) {
        if (!delta.isEmpty()) {
            send(textFrame.apply(delta));
        }
    }

    @Override
    public boolean cancelled() {
        return closed;
    }

    boolean closed() {
        return closed;
    }

    /** Whether any event has been queued (after that, errors can only end the stream, not change its status). */
    boolean anySent() {
        return anySent;
    }

    private void schedule() {
        if (draining.compareAndSet(false, true)) {
            writer.execute(this::drain);
        }
    }

    private void drain() {
        try {
            String frame;
            while ((frame = frames.poll()) != null) {
                if (frame == END) {
                    done.complete(null);
                    continue;
                }
                if (closed) {
                    continue;
                }
                try {
                    if (!started) {
                        started = true;
                        response.setStatus(200);
                        response.setContentType("text/event-stream");
                        response.setCharacterEncoding("UTF-8");
                        response.setHeader("Cache-Control", "no-cache");
                        response.setHeader("X-Accel-Buffering", "no");
                    }
                    response.getOutputStream().write(frame.getBytes(StandardCharsets.UTF_8));
                    response.flushBuffer();
                } catch (IOException | RuntimeException e) {
                    closed = true;
                    done.complete(null);
                }
            }
        } finally {
            draining.set(false);
        }
        if (!frames.isEmpty()) {
            schedule();
        }
    }
}
