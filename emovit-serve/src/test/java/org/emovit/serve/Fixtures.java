package org.emovit.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.Base64;
import java.util.List;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;

/** The embedded model's sample images, a reference EmoVit (the tests' own, not the server's) and HTTP helpers. */
final class Fixtures {
    static final HttpClient HTTP = HttpClient.newHttpClient();
    private static EmoVit reference;

    private Fixtures() {}

    static synchronized EmoVit reference() {
        if (reference == null) {
            reference = ModelSpec.embedded().open();
        }
        return reference;
    }

    static EmoVitServer start(ServerSettings settings) {
        return new EmoVitServer(ModelSpec.embedded().open(), ModelSpec.embedded().displayName(), settings);
    }

    static byte[] bytes(String sample) {
        try {
            return Files.readAllBytes(EmbeddedModel.sample(sample));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static RgbImage image(String sample) {
        return ImageDecoder.decode(EmbeddedModel.sample(sample));
    }

    static String dataUrl(String sample) {
        String type = sample.endsWith(".png") ? "image/png" : sample.endsWith(".gif") ? "image/gif" : "image/jpeg";
        return "data:" + type + ";base64," + Base64.getEncoder().encodeToString(bytes(sample));
    }

    static List<String> samples() {
        return EmbeddedModel.SAMPLES;
    }

    static HttpResponse<String> post(EmoVitServer server, String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(server.url() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    static HttpResponse<String> get(EmoVitServer server, String path) {
        return send(HttpRequest.newBuilder(URI.create(server.url() + path)).GET().build());
    }

    static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The value of the Prometheus samples starting with this name and labels (0 when absent). */
    static double metric(String scrape, String prefix) {
        return PrometheusText.sum(scrape, prefix);
    }
}
