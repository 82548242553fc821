package org.emovit.serve;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.emovit.image.ImageDecodeException;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;

/**
 * Turns a request's image reference into pixels: a data URL is decoded in place; an http(s) URL (only when the
 * server allows remote images) is fetched with a time limit and the server's body-size limit, off the caller's
 * thread. Every failure is a 400 naming the field.
 */
final class ImageLoader {
    private static final Duration FETCH_TIMEOUT = Duration.ofSeconds(10);

    private final ServerSettings settings;
    private final Executor executor;
    private final HttpClient http;

    ImageLoader(ServerSettings settings, Executor executor) {
        this.settings = settings;
        this.executor = executor;
        this.http = HttpClient.newBuilder().connectTimeout(FETCH_TIMEOUT).followRedirects(HttpClient.Redirect.NORMAL)
                .executor(executor).build();
    }

    CompletableFuture<RgbImage> load(String url, String param) {
        if (url == null || url.isBlank()) {
            throw ApiException.badRequest(param, "missing image URL");
        }
        String lower = url.substring(0, Math.min(url.length(), 8)).toLowerCase(Locale.ROOT);
        if (lower.startsWith("data:")) {
            return CompletableFuture.completedFuture(decode(dataUrl(url, param), param));
        }
        if (!lower.startsWith("http://") && !lower.startsWith("https://")) {
            throw ApiException.badRequest(param, "must be a data: URL (data:image/...;base64,...) or an http(s) URL");
        }
        if (!settings.allowRemoteImages()) {
            throw ApiException.badRequest(param, "remote image URLs are disabled on this server (start it with "
                    + "--allow-remote-images) - send the image as a data: URL");
        }
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(URI.create(url)).timeout(FETCH_TIMEOUT).GET().build();
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(param, "not a valid URL: " + e.getMessage());
        }
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
                .exceptionally(e -> {
                    throw ApiException.badRequest(param, "cannot fetch " + url + ": " + rootMessage(e));
                })
                .thenApplyAsync(response -> decode(body(response, url, param), param), executor);
    }

    private byte[] body(HttpResponse<InputStream> response, String url, String param) {
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw ApiException.badRequest(param, "fetching " + url + " gave HTTP " + response.statusCode());
            }
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, settings.maxBodyBytes() + 1));
            if (bytes.length > settings.maxBodyBytes()) {
                throw ApiException.badRequest(param, "the image at " + url + " is larger than " + settings.maxBodyBytes() + " bytes");
            }
            return bytes;
        } catch (IOException e) {
            throw ApiException.badRequest(param, "cannot fetch " + url + ": " + e.getMessage());
        }
    }

    static RgbImage decode(byte[] bytes, String param) {
        try {
            return ImageDecoder.decode(bytes, param, ImageDecoder.DEFAULT_MAX_PIXELS);
        } catch (ImageDecodeException e) {
            throw ApiException.invalidImage(e);
        }
    }

    /** The bytes of a base64 data URL: {@code data:[media type][;params];base64,DATA}. */
    static byte[] dataUrl(String url, String param) {
        int comma = url.indexOf(',');
        if (comma < 0) {
            throw ApiException.badRequest(param, "a data URL needs a comma before its data");
        }
        String meta = url.substring(5, comma).toLowerCase(Locale.ROOT);
        if (!meta.endsWith(";base64")) {
            throw ApiException.badRequest(param, "the data URL must be base64 (data:image/...;base64,...)");
        }
        try {
            return Base64.getDecoder().decode(url.substring(comma + 1).replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(param, "the data URL is not valid base64 (" + e.getMessage() + ")");
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
