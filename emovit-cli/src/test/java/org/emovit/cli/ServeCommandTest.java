package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.ModelSpec;
import org.emovit.serve.EmoVitServer;
import org.emovit.serve.ServerSettings;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The served answers are the commands' answers; `emovit serve` stops gracefully on SIGTERM with exit code 0. */
class ServeCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static String dataUrl(Path p) throws Exception {
        return "data:image/jpeg;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(p));
    }

    static String chat(Path image, String question, int maxTokens, boolean stream) throws Exception {
        return "{\"model\":\"x\",\"max_tokens\":" + maxTokens + ",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"text\",\"text\":" + JSON.writeValueAsString(question) + "},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + dataUrl(image) + "\"}}]}]}";
    }

    static HttpResponse<String> post(String url, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servedAnswersThroughTheOpenAiSdkEqualAskAndClassify() throws Exception {
        Path photo = EmbeddedModel.sample("photo.jpg");
        String question = "Why does this picture feel calm?";
        String asked = CommandsTest.run("ask", photo.toString(), question, "--max-new-tokens", "24").out();
        CommandsTest.Result classified = CommandsTest.run("classify", photo.toString());
        JsonNode want = JSON.readTree(classified.out().lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow());
        try (EmoVitServer server = EmoVitServer.start(ModelSpec.embedded(), ServerSettings.defaults())) {
            OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey("unused").maxRetries(0).build();
            try {
                ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(server.modelName()).maxCompletionTokens(24)
                        .addUserMessageOfArrayOfContentParts(List.of(
                                ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text(question).build()),
                                ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder().imageUrl(
                                        ChatCompletionContentPartImage.ImageUrl.builder().url(dataUrl(photo)).build()).build())))
                        .build();
                String whole = client.chat().completions().create(params).choices().get(0).message().content().orElseThrow();
                StringBuilder streamed = new StringBuilder();
                try (StreamResponse<ChatCompletionChunk> chunks = client.chat().completions().createStreaming(params)) {
                    chunks.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
                }
                // ask prints control characters as U+FFFD so that model output cannot drive the terminal
                assertThat(StreamPrinter.safe(whole)).isEqualTo(asked.strip());
                assertThat(StreamPrinter.safe(streamed.toString())).isEqualTo(asked.strip());
            } finally {
                client.close();
            }
            JsonNode emotion = JSON.readTree(post(server.url() + "/v1/emotions", "{\"image\":\"" + dataUrl(photo) + "\"}").body());
            assertThat(emotion.get("emotion").asText()).isEqualTo(want.get("emotion").asText());
            want.get("probabilities").fields().forEachRemaining(e ->
                    assertThat(emotion.get("probabilities").get(e.getKey()).asDouble()).isCloseTo(e.getValue().asDouble(), within(1e-5)));
        }
    }

    /** The text of the "probabilities" object in a line of JSON (the 8 values as written, alphabetical). */
    static String probabilitiesText(String json) {
        Matcher m = Pattern.compile("\"probabilities\":\\{[^}]*}").matcher(json);
        assertThat(m.find()).as(json).isTrue();
        return m.group();
    }

    @Test
    void classifyAndV1EmotionsWriteTheSameProbabilityValues() throws Exception {
        List<Path> samples = EmbeddedModel.SAMPLES.stream().map(EmbeddedModel::sample).toList();
        List<String> args = new java.util.ArrayList<>(List.of("classify", "--batch-size", "1"));   // one image a pass, as the server runs it
        samples.forEach(p -> args.add(p.toString()));
        CommandsTest.Result classified = CommandsTest.run(args.toArray(String[]::new));
        assertThat(classified.code()).as(classified.err()).isZero();
        List<String> lines = classified.out().lines().filter(l -> l.startsWith("{")).toList();
        assertThat(lines).hasSize(samples.size());
        try (EmoVitServer server = EmoVitServer.start(ModelSpec.embedded(), ServerSettings.defaults())) {
            for (int i = 0; i < samples.size(); i++) {
                HttpResponse<String> r = post(server.url() + "/v1/emotions", "{\"image\":\"" + dataUrl(samples.get(i)) + "\"}");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(probabilitiesText(r.body())).as(samples.get(i).toString()).isEqualTo(probabilitiesText(lines.get(i)));
            }
        }
    }

    @Test
    void sigtermFinishesTheRequestInFlightAndExitsZero(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("serve.err");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "serve", "--port", "0").redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(log.toFile()).start();
        try {
            String url = null;
            Pattern serving = Pattern.compile("serving .* on (http://\\S+) ");
            for (long until = System.nanoTime() + 120_000_000_000L; url == null && p.isAlive() && System.nanoTime() < until; Thread.sleep(100)) {
                Matcher m = serving.matcher(Files.readString(log));
                url = m.find() ? m.group(1) : null;
            }
            assertThat(url).isNotNull();
            // Wait for the answer to start streaming (the request is then in the model), then SIGTERM.
            HttpResponse<java.io.InputStream> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(chat(EmbeddedModel.sample("gray.png"), "Describe it.", 200, true))).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.statusCode()).isEqualTo(200);
            p.destroy();   // SIGTERM
            String body;
            try (java.io.InputStream in = r.body()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            assertThat(body.strip()).endsWith("data: [DONE]");
            assertThat(body).containsPattern("\"finish_reason\":\"(stop|length)\"");
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            assertThat(Files.readString(log)).contains("emovit: stopping", "emovit: stopped");
        } finally {
            p.destroyForcibly();
        }
    }
}
