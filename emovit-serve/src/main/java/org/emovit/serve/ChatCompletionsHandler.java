package org.emovit.serve;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/** POST /v1/chat/completions: OpenAI's chat completion with one image, whole or streamed as server-sent events. */
final class ChatCompletionsHandler implements Handler {
    private final ModelScheduler scheduler;
    private final ImageLoader images;
    private final Executor writer;
    private final String model;

    ChatCompletionsHandler(ModelScheduler scheduler, ImageLoader images, Executor writer, String model) {
        this.scheduler = scheduler;
        this.images = images;
        this.writer = writer;
        this.model = model;
    }

    @Override
    public void handle(Context ctx) {
        ChatRequest request = ChatRequest.parse(Json.read(ctx.bodyAsBytes()));
        ChatResponses responses = new ChatResponses(model);
        if (!request.stream()) {
            ctx.future(() -> images.load(request.imageUrl(), request.imageParam())
                    .thenCompose(image -> scheduler.generate(image, request.prompt(), request.config(), request.stop(), TokenSink.NONE))
                    .thenAccept(g -> ctx.status(200).contentType("application/json").result(responses.completion(g))));
            return;
        }
        SseStream stream = new SseStream(ctx.res(), writer, responses::content);
        ctx.future(() -> images.load(request.imageUrl(), request.imageParam())
                .thenCompose(image -> scheduler.generate(image, request.prompt(), request.config(), request.stop(), stream))
                .handle((g, error) -> {
                    if (error != null && !stream.anySent()) {
                        // nothing written yet: the client gets a proper status and error body instead of a stream
                        throw error instanceof CompletionException c ? c : new CompletionException(error);
                    }
                    stream.send(responses.finish(g == null ? "length" : g.finishReason()));
                    if (g != null && request.includeUsage()) {
                        stream.send(responses.usageChunk(g));
                    }
                    stream.finish();
                    return stream.done();
                })
                .thenCompose(done -> done));
    }
}
