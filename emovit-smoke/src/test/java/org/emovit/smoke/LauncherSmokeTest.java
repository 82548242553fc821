package org.emovit.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.emovit.smoke.Artifacts.emovit;
import static org.emovit.smoke.Inputs.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.ZipFile;
import org.emovit.smoke.Artifacts.Result;
import org.emovit.smoke.Artifacts.Started;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code emovit} command once, through {@code ./emovit} and the shaded {@code emovit.jar} it runs, on the embedded
 * tiny model (random weights) or the Python reference fixtures, each checked on what it wrote and with the numbers the
 * other front doors give for the same images.
 */
class LauncherSmokeTest {
    static final HttpClient HTTP = HttpClient.newHttpClient();
    @TempDir static Path dir;
    static Path images;
    /** {@code emovit classify} of {@link #images}, by file name: the figures every other door must give. */
    static Map<String, JsonNode> classified;

    @BeforeAll
    static void classifyOnce() throws Exception {
        images = Inputs.images(dir.resolve("images"), 5);
        Path out = dir.resolve("classify.jsonl");
        Path maps = dir.resolve("heatmaps");
        Result r = emovit(dir, "classify", "--batch-size", "2", "--heatmap", maps.toString(), "--output", out.toString(), images.toString());
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.err()).as("the launcher found the jar the build made").doesNotContain("emovit: building");
        assertThat(r.err()).contains("random-weight");   // the tiny model says its answers are noise
        classified = Inputs.byFileName(Files.readAllLines(out), "image");
        assertThat(classified).hasSize(5);
        for (JsonNode n : classified.values()) {
            assertThat(n.get("probabilities").size()).isEqualTo(8);
            double sum = 0;
            for (String e : Inputs.EMOTIONS) {
                sum += n.get("probabilities").get(e).asDouble();
            }
            assertThat(sum).isCloseTo(1.0, within(1e-5));
            assertThat(Inputs.EMOTIONS).contains(n.get("emotion").asText());
            // --heatmap: the predicted emotion's grid, a distribution, and its overlay, a PNG in the folder asked for
            JsonNode heatmap = n.get("heatmap");
            assertThat(heatmap.get("emotion").asText()).isEqualTo(n.get("emotion").asText());
            int side = heatmap.get("side").asInt();
            assertThat(heatmap.get("weights").size()).isEqualTo(side * side);
            double mass = 0;
            for (JsonNode w : heatmap.get("weights")) {
                assertThat(w.asDouble()).isGreaterThanOrEqualTo(0);
                mass += w.asDouble();
            }
            assertThat(mass).isCloseTo(1.0, within(1e-5));
            Path png = Path.of(heatmap.get("overlay").asText());
            assertThat(png.getParent()).isEqualTo(maps);
            assertThat(javax.imageio.ImageIO.read(png.toFile())).as(png.toString()).isNotNull();
        }
        try (var pngs = Files.list(maps)) {
            assertThat(pngs.filter(p -> p.toString().endsWith(".png")).count()).isEqualTo(5);
        }
        JsonNode provenance = JSON.readTree(Path.of(out + ".provenance.json").toFile());
        assertThat(provenance.get("mode").asText()).isEqualTo("score");
        assertThat(provenance.get("heatmap").asText()).isEqualTo("grad-cam");
    }

    static double p(JsonNode result, String emotion) {
        return result.get("probabilities").get(emotion).asDouble();
    }

    @Test
    void askAnswersAndTheServerGivesTheSameAnswersThenStopsOnSigterm() throws Exception {
        Path photo = images.resolve("img0.jpg");
        String question = "Why does this picture feel calm?";
        Result asked = emovit(dir, "ask", "--max-new-tokens", "12", photo.toString(), question);
        assertThat(asked.code()).as(asked.both()).isZero();
        assertThat(asked.out().strip()).isNotEmpty();

        try (Started serve = Artifacts.startEmovit(dir, "serve", "--port", "0")) {
            String url = serve.awaitErr(Pattern.compile("serving .* on (http://\\S+) "), Duration.ofMinutes(2));
            String image = "data:image/jpeg;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(photo));
            HttpResponse<String> chat = post(url + "/v1/chat/completions", "{\"model\":\"x\",\"max_tokens\":12,\"messages\":[{\"role\":\"user\","
                    + "\"content\":[{\"type\":\"text\",\"text\":" + JSON.writeValueAsString(question) + "},"
                    + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + image + "\"}}]}]}");
            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
            String content = JSON.readTree(chat.body()).get("choices").get(0).get("message").get("content").asText();
            assertThat(terminalSafe(content)).isEqualTo(asked.out().strip());

            HttpResponse<String> emotions = post(url + "/v1/emotions", "{\"image\":\"" + image + "\",\"heatmap\":true}");
            assertThat(emotions.statusCode()).as(emotions.body()).isEqualTo(200);
            JsonNode served = JSON.readTree(emotions.body());
            JsonNode want = classified.get("img0.jpg");
            assertThat(served.get("emotion").asText()).isEqualTo(want.get("emotion").asText());
            for (String e : Inputs.EMOTIONS) {
                assertThat(p(served, e)).as(e).isCloseTo(p(want, e), within(1e-5));
            }
            // the same grid as classify --heatmap wrote for this image (issue 18: to 1e-6)
            JsonNode servedMap = served.get("heatmap"), wantMap = want.get("heatmap");
            assertThat(servedMap.get("emotion").asText()).isEqualTo(wantMap.get("emotion").asText());
            assertThat(servedMap.get("weights").size()).isEqualTo(wantMap.get("weights").size());
            for (int i = 0; i < wantMap.get("weights").size(); i++) {
                assertThat(servedMap.get("weights").get(i).asDouble()).as("patch " + i)
                        .isCloseTo(wantMap.get("weights").get(i).asDouble(), within(1e-6));
            }
            assertThat(servedMap.get("overlay").asText()).startsWith("data:image/png;base64,");

            Result bench = emovit(dir, "serve-bench", "--url", url, "--concurrency", "2", "--duration", "2", "--warmup", "1", "--heatmap",
                    "--stream-gaps", "8");
            assertThat(bench.code()).as(bench.both()).isZero();
            assertThat(bench.out()).containsPattern("requests: [1-9]\\d* ok, 0 failed; [\\d.]+ requests/s").contains("latency ms: p50")
                    .containsPattern("stream beside the load: [1-9]\\d* answer\\(s\\), \\d+ chunks, 0 failed; worst gap between two chunks [\\d.]+ ms")
                    .contains("Grad-CAM passes: ");

            serve.process.destroy();   // SIGTERM: `exec java` in the launcher makes the JVM this very process
            Result stopped = serve.waitFor(Duration.ofMinutes(1));
            assertThat(stopped.code()).as(stopped.both()).isZero();
            assertThat(stopped.err()).contains("emovit: stopping", "emovit: stopped");
        }
    }

    /** What {@code ask} prints for model text: control characters other than newline and tab as U+FFFD. */
    static String terminalSafe(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(cp -> b.appendCodePoint(Character.isISOControl(cp) && cp != '\n' && cp != '\t' ? 0xFFFD : cp));
        return b.toString().strip();
    }

    static HttpResponse<String> post(String url, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void classifyReportsABrokenImageAndGeneratesWithAnExplanation() throws Exception {
        Path mixed = Files.createDirectories(dir.resolve("mixed"));
        Files.copy(images.resolve("img1.png"), mixed.resolve("img1.png"));
        Files.writeString(mixed.resolve("broken.jpg"), "not a picture");
        Path out = dir.resolve("mixed.jsonl");
        Result r = emovit(dir, "classify", "--output", out.toString(), mixed.toString());
        assertThat(r.code()).as(r.both()).isEqualTo(2);
        Map<String, JsonNode> got = Inputs.byFileName(Files.readAllLines(out), "image");
        assertThat(got.get("broken.jpg").get("error").asText()).contains("broken.jpg").contains("not an image");
        for (String e : Inputs.EMOTIONS) {
            assertThat(p(got.get("img1.png"), e)).isEqualTo(p(classified.get("img1.png"), e));
        }

        Result gen = emovit(dir, "classify", "--mode", "generate", "--explain", "--explain-tokens", "5", "--max-new-tokens", "8",
                images.resolve("img2.jpg").toString());
        assertThat(gen.code()).as(gen.both()).isZero();
        JsonNode line = JSON.readTree(gen.jsonLines().get(0));
        assertThat(line.get("generated").asText()).isNotEmpty();
        assertThat(line.has("explanation")).as(line.toString()).isTrue();
    }

    @Test
    void evalOnAnEmoSetSplitWritesMetricsWithClassifysProbabilities() throws Exception {
        Path emoset = Inputs.emoset(dir.resolve("emoset-eval"), 1);
        Path out = dir.resolve("eval");
        Result r = emovit(dir, "eval", "--dataset", emoset.resolve("test.json").toString(), "--out", out.toString());
        assertThat(r.code()).as(r.both()).isZero();
        JsonNode metrics = JSON.readTree(out.resolve("metrics.json").toFile());
        assertThat(metrics.get("total").asInt()).isEqualTo(8);
        assertThat(metrics.get("correct").asInt()).isBetween(0, 8);
        assertThat(metrics.get("accuracy").asDouble()).isCloseTo(metrics.get("correct").asDouble() / 8, within(1e-9));
        for (String f : new String[] {"predictions.jsonl", "confusion.csv", "confusion.png", "confusion.svg"}) {
            assertThat(out.resolve(f)).isNotEmptyFile();
        }
        // The same images through classify: the same probabilities.
        Path awe = emoset.resolve("image/awe");
        Result c = emovit(dir, "classify", awe.toString());
        JsonNode classifiedAwe = JSON.readTree(c.jsonLines().get(0));
        JsonNode predicted = Files.readAllLines(out.resolve("predictions.jsonl")).stream().map(LauncherSmokeTest::json)
                .filter(n -> n.toString().contains("awe_00010")).findFirst().orElseThrow();
        assertThat(predicted.get("predicted").asText()).isEqualTo(classifiedAwe.get("emotion").asText());
        for (String e : Inputs.EMOTIONS) {
            // classify rounds to 1e-6 in its JSON, eval's predictions.jsonl does not
            assertThat(p(predicted, e)).as(e).isCloseTo(p(classifiedAwe, e), within(1e-6));
        }
    }

    static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void trainAFewStepsThenClassifyWithTheExportedOverlay() throws Exception {
        Path data = Files.createDirectories(dir.resolve("train"));
        Inputs.image(data.resolve("images/a.png"), 3);
        Inputs.image(data.resolve("images/b.png"), 4);
        Files.writeString(data.resolve("all.json"), "[{\"id\": \"1\", \"image\": \"a.png\", \"conversations\": "
                + "[{\"from\": \"human\", \"value\": \"emotion?\"}, {\"from\": \"gpt\", \"value\": \"Predict emotion: awe\"}]},"
                + "{\"id\": \"2\", \"image\": \"b.png\", \"conversations\": "
                + "[{\"from\": \"human\", \"value\": \"emotion?\"}, {\"from\": \"gpt\", \"value\": \"Predict emotion: fear\"}]}]");
        Files.writeString(data.resolve("train.yaml"), "run:\n  init_lr: 0.01\n  warmup_steps: 1\n  batch_size_train: 2\n");
        Path run = dir.resolve("run");
        Result r = emovit(dir, "train", "--data", data.resolve("all.json").toString(), "--images", data.resolve("images").toString(),
                "--out", run.toString(), "--train-config", data.resolve("train.yaml").toString(), "--max-steps", "3");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("trained to step 3");
        assertThat(Files.readAllLines(run.resolve("metrics.jsonl"))).hasSize(3);
        for (String f : new String[] {"model_weights.pth", "model_weights.safetensors", "curve.png"}) {
            assertThat(run.resolve(f)).isNotEmptyFile();
        }

        Path out = dir.resolve("overlay.jsonl");
        Result c = emovit(dir, "classify", "--overlay", run.resolve("model_weights.pth").toString(), "--output", out.toString(),
                images.resolve("img0.jpg").toString());
        assertThat(c.code()).as(c.both()).isZero();
        JsonNode tuned = JSON.readTree(Files.readAllLines(out).get(0));
        assertThat(Artifacts.read(Path.of(out + ".provenance.json"))).contains("model_weights.pth");
        double change = 0;
        for (String e : Inputs.EMOTIONS) {
            change = Math.max(change, Math.abs(p(tuned, e) - p(classified.get("img0.jpg"), e)));
        }
        assertThat(change).as("three steps at lr 0.01 moved the probabilities").isGreaterThan(1e-4);
    }

    @Test
    void convertThenTheConvertedModelAnswersAsTheOriginal() throws Exception {
        Path converted = dir.resolve("converted");
        Result r = emovit(dir, "convert", "--dtype", "bf16", "--out", converted.toString());
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(converted.resolve("config.json")).exists();
        assertThat(Artifacts.files(converted)).anyMatch(f -> f.toString().endsWith(".safetensors"));
        Result fromConverted = emovit(dir, "ask", "--max-new-tokens", "6", "--dtype", "bf16", "--model", converted.toString());
        Result original = emovit(dir, "ask", "--max-new-tokens", "6", "--dtype", "bf16");
        assertThat(fromConverted.code()).as(fromConverted.both()).isZero();
        assertThat(fromConverted.out()).isEqualTo(original.out());
    }

    /**
     * An int8 conversion classifies as the original within 0.01 through the launcher: the LLM's Linears packed for
     * FBGEMM where the CPU's int8 sums are exact (its first load through the CLI once failed), and with
     * {@code EMOVIT_INT8_KERNEL=int8pack} through libtorch's int8 kernel; bench names the product it ran.
     */
    @Test
    void anInt8ConversionClassifiesAsTheOriginalThroughEitherKernel() throws Exception {
        Path converted = convertQuietly("int8");
        for (String kernel : new String[] {"auto", "int8pack"}) {
            Path out = dir.resolve("int8-" + kernel + ".jsonl");
            Result c = emovit(dir, Map.of("EMOVIT_INT8_KERNEL", kernel), "classify", "--model", converted.toString(), "--batch-size", "2",
                    "--output", out.toString(), images.toString());
            assertThat(c.code()).as(c.both()).isZero();
            assertNoNativeWarning(c);
            Map<String, JsonNode> int8 = Inputs.byFileName(Files.readAllLines(out), "image");
            assertThat(int8.keySet()).isEqualTo(classified.keySet());
            for (Map.Entry<String, JsonNode> e : classified.entrySet()) {
                for (String emotion : Inputs.EMOTIONS) {
                    assertThat(p(int8.get(e.getKey()), emotion)).as("%s %s (%s)", e.getKey(), emotion, kernel)
                            .isCloseTo(p(e.getValue(), emotion), within(0.01));
                }
            }
        }
        Path config = dir.resolve("tiny-config-int8.json");
        Files.copy(converted.resolve("config.json"), config);
        Result bench = emovit(dir, "bench", "--config", config.toString(), "--quantize", "int8", "--runs", "1", "--prompt-tokens", "8", "--new-tokens", "2");
        assertThat(bench.code()).as(bench.both()).isZero();
        assertThat(bench.out()).containsPattern("(?m)^int8 LLM products: (FBGEMM|aten::_weight_int8pack_mm)");
        assertNoNativeWarning(bench);
    }

    /** The tiny model converted with {@code --quantize precision} into dir/precision, with no native warning. */
    private Path convertQuietly(String precision) throws Exception {
        Path converted = dir.resolve(precision);
        Result r = emovit(dir, "convert", "--dtype", "f32", "--quantize", precision, "--out", converted.toString());
        assertThat(r.code()).as(r.both()).isZero();
        assertNoNativeWarning(r);
        return converted;
    }

    /**
     * An int4 conversion (its ViT stored int8) converts and classifies through the launcher without a native warning:
     * libtorch's notices that the FBGEMM int8 operators are deprecated are not the user's to act on.
     */
    @Test
    void anInt4ConversionConvertsAndClassifiesQuietly() throws Exception {
        Path converted = convertQuietly("int4");
        Path out = dir.resolve("int4.jsonl");
        Result c = emovit(dir, "classify", "--model", converted.toString(), "--batch-size", "2", "--output", out.toString(), images.toString());
        assertThat(c.code()).as(c.both()).isZero();
        assertNoNativeWarning(c);
        assertThat(Inputs.byFileName(Files.readAllLines(out), "image").keySet()).isEqualTo(classified.keySet());

        // bench on the converted config: it names the 4-bit kernel and, where the native one runs, splits a decoding
        // step into its products and the rest (the split that shows what a faster kernel can still gain)
        Path config = dir.resolve("tiny-config-int4.json");
        Files.copy(converted.resolve("config.json"), config);
        Result bench = emovit(dir, "bench", "--config", config.toString(), "--quantize", "int4", "--runs", "1", "--prompt-tokens", "8", "--new-tokens", "2");
        assertThat(bench.code()).as(bench.both()).isZero();
        assertThat(bench.out()).containsPattern("(?m)^int4 LLM products: ");
        if (bench.out().contains("int4 LLM products: emovit's native 4-bit kernel")) {
            assertThat(bench.out()).containsPattern("(?m)^decode split: native 4-bit products \\d+\\.\\d ms/token, the rest .+ -?\\d+\\.\\d ms/token$");
        }
        assertNoNativeWarning(bench);
    }

    /** No libtorch warning line ({@code [W...}) and no deprecation notice on either stream. */
    private static void assertNoNativeWarning(Result r) {
        for (String stream : new String[] {r.out(), r.err()}) {
            assertThat(stream).as(r.both()).doesNotContainPattern("(?m)^\\[W").doesNotContainIgnoringCase("deprecated");
        }
    }

    @Test
    void forwardMatchesThePythonReference() throws Exception {
        Path cases = dir.resolve("cases.safetensors");
        try (InputStream in = LauncherSmokeTest.class.getResourceAsStream("/cases.safetensors")) {
            Files.copy(in, cases);
        }
        Path out = dir.resolve("forward.safetensors");
        Result r = emovit(dir, "forward", "--inputs", cases.toString(), "--out", out.toString(), "--greedy", "6");
        assertThat(r.code()).as(r.both()).isZero();
        float[] logits = floats(out, "logits");
        float[] expected = floats(cases, "expected.logits");
        assertThat(logits).hasSameSizeAs(expected);
        double diff = 0;
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            diff = Math.max(diff, Math.abs(logits[i] - expected[i]));
            max = Math.max(max, Math.abs(expected[i]));
        }
        assertThat(diff / max).as("relative difference to transformers' logits").isLessThan(1e-4);
        assertThat(floats(out, "loss")[0]).isCloseTo(floats(cases, "expected.loss")[0], within(1e-5f));
    }

    /** A float32 tensor of a safetensors file (8-byte header length, JSON header, little-endian data). */
    static float[] floats(Path file, String key) throws Exception {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) all.getLong(0);
        JsonNode entry = JSON.readTree(new String(all.array(), 8, headerLength, java.nio.charset.StandardCharsets.UTF_8)).get(key);
        assertThat(entry).as(key + " in " + file).isNotNull();
        assertThat(entry.get("dtype").asText()).isEqualTo("F32");
        int from = 8 + headerLength + entry.get("data_offsets").get(0).asInt();
        int to = 8 + headerLength + entry.get("data_offsets").get(1).asInt();
        float[] f = new float[(to - from) / 4];
        all.position(from);
        all.asFloatBuffer().get(f);
        return f;
    }

    @Test
    void benchOnTheTinyConfigNamesTheMachine() throws Exception {
        Path config = dir.resolve("tiny-config.json");
        try (ZipFile jar = new ZipFile(Artifacts.CLI_JAR.toFile());
             InputStream in = jar.getInputStream(jar.getEntry("org/emovit/embedded/tiny-instructblip/config.json"))) {
            Files.copy(in, config);
        }
        Result r = emovit(dir, "bench", "--config", config.toString(), "--runs", "1", "--prompt-tokens", "8", "--new-tokens", "2");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("median:").contains("peak RSS").contains("ratio llm prefill:").contains("ratio decode:");
        assertThat(r.out()).containsPattern("(?m)^cpu: .+; flags:");
    }

    @Test
    void sparkLocalModeThroughTheLauncherGivesClassifysFigures() throws Exception {
        Path out = dir.resolve("launcher-spark");
        Result r = emovit(dir, "spark", "classify", "--master", "local[2]", "--input", images.toString(), "--output", out.toString());
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("classified 5 image(s), 0 with an error");
        SparkResults.assertEqualToClassify(out, classified);
    }
}
