package org.emovit.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.UploadedFile;
import java.io.IOException;
import java.io.InputStream;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.emovit.attribution.PatchMap;
import org.emovit.core.Emotion;
import org.emovit.core.EmotionJson;
import org.emovit.api.EmoVit;
import org.emovit.attribution.HeatmapRequest;
import org.emovit.image.PilResize;
import org.emovit.image.RgbImage;

/**
 * POST /v1/emotions: which of the 8 emotions an image evokes, as `emovit classify` answers it
 * ({"emotion", "probabilities", "explanation", "model", "timing_ms"}). The image comes as a multipart file
 * ("file") or as JSON {"image": "data:..."}; options (explain, mode, stream) as form fields, JSON fields or query
 * parameters. With stream=true the answer is server-sent events: the emotion first, then the explanation as it is
 * generated ({"explanation_delta"}), then {"explanation", "timing_ms"} and [DONE] — what the web page shows.
 *
 * <p>With heatmap=true the answer (the first event when streaming) has classify --heatmap's "heatmap" field, its
 * "overlay" a PNG data URL: the map of heatmap_emotion (any of the 8; default the predicted one) by heatmap_method
 * (grad-cam, the default, or rollout), computed on the model's thread after the classification, its picture drawn
 * here, off that thread.
 */
final class EmotionsHandler implements Handler {
    private final ModelScheduler scheduler;
    private final ImageLoader images;
    private final Executor writer;
    private final String model;

    EmotionsHandler(ModelScheduler scheduler, ImageLoader images, Executor writer, String model) {
        this.scheduler = scheduler;
        this.images = images;
        this.writer = writer;
        this.model = model;
    }

    /** The longest side of an overlay sent back: the page shows it in a box of a few hundred pixels. */
    static final int OVERLAY_MAX_SIDE = 512;

    private record Request(CompletableFuture<RgbImage> image, boolean explain, EmoVit.Mode mode, boolean stream, HeatmapRequest heatmap) {}

    @Override
    public void handle(Context ctx) {
        long start = System.nanoTime();
        refuseUnknown(ctx.queryParamMap().keySet(), OPTIONS);
        Request r = ctx.isMultipartFormData() ? multipart(ctx) : json(ctx);
        if (!r.stream()) {
            ctx.future(() -> r.image().thenCompose(img -> scheduler.classify(img, r.mode(), r.explain(), r.heatmap())
                            .thenApply(c -> body(r, c, img, start)))
                    .thenAccept(body -> ctx.status(200).contentType("application/json").result(body.toString())));
            return;
        }
        SseStream stream = new SseStream(ctx.res(), writer, delta -> {
            ObjectNode n = Json.object();
            n.put("explanation_delta", delta);
            return n.toString();
        });
        ctx.future(() -> r.image()
                .thenCompose(img -> scheduler.classify(img, r.mode(), false, r.heatmap()).thenCompose(c -> {
                    stream.send(body(r, c, img, start).toString());
                    if (!r.explain()) {
                        return CompletableFuture.completedFuture((Generation) null);
                    }
                    return scheduler.explain(img, c.result().label(), stream);
                }))
                .handle((g, error) -> {
                    if (error != null && !stream.anySent()) {
                        throw error instanceof CompletionException c ? c : new CompletionException(error);
                    }
                    ObjectNode last = Json.object();
                    if (g != null) {
                        last.put("explanation", g.text());
                    }
                    last.put("timing_ms", (System.nanoTime() - start) / 1_000_000);
                    stream.send(last.toString());
                    stream.finish();
                    return stream.done();
                })
                .thenCompose(done -> done));
    }

    private ObjectNode body(Request r, Classification c, RgbImage image, long start) {
        ObjectNode n = EmotionJson.write(Json.object(), c.result(), c.explanation());
        if (c.heatmap() != null) {
            c.heatmap().writeJson(n, "data:image/png;base64," + Base64.getEncoder().encodeToString(c.heatmap().overlayPng(shown(image))));
        } else if (r.heatmap() != null) {
            n.putNull("heatmap");   // asked for, but a generated answer outside the 8 leaves no emotion to map
        }
        n.put("model", model);
        n.put("timing_ms", (System.nanoTime() - start) / 1_000_000);
        return n;
    }

    /** The image the overlay is drawn on: the upload, shrunk to {@link #OVERLAY_MAX_SIDE} when larger. */
    private static RgbImage shown(RgbImage image) {
        int longest = Math.max(image.width(), image.height());
        if (longest <= OVERLAY_MAX_SIDE) {
            return image;
        }
        double s = (double) OVERLAY_MAX_SIDE / longest;
        return PilResize.bicubic(image, Math.max(1, (int) Math.round(image.width() * s)), Math.max(1, (int) Math.round(image.height() * s)));
    }

    private Request multipart(Context ctx) {
        UploadedFile file = ctx.uploadedFile("file");
        if (file == null) {
            file = ctx.uploadedFile("image");
        }
        if (file == null) {
            throw ApiException.badRequest("file", "missing: send the image as the multipart field 'file'");
        }
        byte[] bytes;
        try (InputStream in = file.content()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw ApiException.badRequest("file", "cannot read the upload: " + e.getMessage());
        }
        Set<String> fields = new HashSet<>(OPTIONS);
        fields.addAll(List.of("file", "image"));
        refuseUnknown(ctx.formParamMap().keySet(), fields);
        refuseUnknown(ctx.uploadedFileMap().keySet(), Set.of("file", "image"));
        RgbImage image = ImageLoader.decode(bytes, "file");
        return new Request(CompletableFuture.completedFuture(image), flag(option(ctx, null, "explain"), "explain"),
                mode(option(ctx, null, "mode")), flag(option(ctx, null, "stream"), "stream"), heatmap(ctx, null));
    }

    private Request json(Context ctx) {
        JsonNode body = Json.read(ctx.bodyAsBytes());
        if (!body.isObject()) {
            throw ApiException.badRequest(null, "the body must be a JSON object {\"image\": \"data:image/...;base64,...\"} or a multipart upload");
        }
        Set<String> fields = new HashSet<>(OPTIONS);
        fields.addAll(List.of("image", "image_url"));
        refuseUnknown(body::fieldNames, fields);
        String field = body.has("image") ? "image" : "image_url";
        JsonNode url = body.get(field);
        if (url != null && url.isObject()) {
            url = url.get("url");
        }
        if (url == null || !url.isTextual()) {
            throw ApiException.badRequest("image", "missing: send {\"image\": \"data:image/...;base64,...\"} or a multipart field 'file'");
        }
        return new Request(images.load(url.asText(), field), flag(option(ctx, body, "explain"), "explain"),
                mode(option(ctx, body, "mode")), flag(option(ctx, body, "stream"), "stream"), heatmap(ctx, body));
    }

    /**
     * The heat map asked for (heatmap=true, with heatmap_emotion and heatmap_method), or null. Either of those two
     * without heatmap=true is refused rather than ignored: the caller expects a map.
     */
    private static HeatmapRequest heatmap(Context ctx, JsonNode body) {
        String emotion = option(ctx, body, "heatmap_emotion");
        String method = option(ctx, body, "heatmap_method");
        if (!flag(option(ctx, body, "heatmap"), "heatmap")) {
            if (emotion != null || method != null) {
                throw ApiException.badRequest(emotion != null ? "heatmap_emotion" : "heatmap_method", "only with heatmap=true");
            }
            return null;
        }
        Emotion chosen = null;
        if (emotion != null && !emotion.isEmpty()) {
            chosen = Emotion.fromLabel(emotion).orElseThrow(() -> ApiException.badRequest("heatmap_emotion",
                    "'" + emotion + "' is not one of " + String.join(", ", Emotion.labels())));
        }
        try {
            return new HeatmapRequest(method == null || method.isEmpty() ? PatchMap.Method.GRAD_CAM : PatchMap.Method.parse(method, "heatmap_method"), chosen);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, "invalid_request_error", "heatmap_method", null, e.getMessage(), null);
        }
    }

    /** An option from the JSON body, the form or the query string, as text (null when absent). */
    private static String option(Context ctx, JsonNode body, String name) {
        if (body != null && body.hasNonNull(name)) {
            return body.get(name).asText();
        }
        String v = ctx.isMultipartFormData() ? ctx.formParam(name) : null;
        return v != null ? v : ctx.queryParam(name);
    }

    /**
     * A yes/no option, read one way wherever it comes from: the text "true" or "false" (a JSON boolean reads as
     * that text), nothing else — so JSON "yes" is refused as multipart "maybe" is, never taken as a yes.
     */
    static boolean flag(String v, String name) {
        if (v == null || v.isEmpty()) {
            return false;
        }
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw ApiException.badRequest(name, "must be true or false, not '" + v + "'");
        };
    }

    /** The options read from a body, a form or the query string; any other name is refused rather than ignored. */
    private static final Set<String> OPTIONS = Set.of("explain", "mode", "stream", "heatmap", "heatmap_emotion", "heatmap_method");

    private static void refuseUnknown(Iterable<String> names, Set<String> known) {
        for (String name : names) {
            if (!known.contains(name)) {
                throw ApiException.badRequest(name, "not an option of /v1/emotions (options: " + String.join(", ", new TreeSet<>(OPTIONS)) + ")");
            }
        }
    }

    private static EmoVit.Mode mode(String v) {
        try {
            return v == null || v.isEmpty() ? EmoVit.Mode.SCORE : EmoVit.Mode.parse(v, "mode");
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, "invalid_request_error", "mode", null, e.getMessage(), null);
        }
    }
}
