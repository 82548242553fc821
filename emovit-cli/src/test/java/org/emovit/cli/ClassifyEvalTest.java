package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.emovit.core.Emotion;
import org.emovit.api.EmbeddedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** classify and eval end to end on the embedded tiny model. */
class ClassifyEvalTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path png(Path file, int seed) throws Exception {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(32, 24, BufferedImage.TYPE_INT_RGB);
        java.util.Random r = new java.util.Random(seed);
        for (int y = 0; y < 24; y++) {
            for (int x = 0; x < 32; x++) {
                img.setRGB(x, y, r.nextInt(0xFFFFFF));
            }
        }
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    /** A PNG whose header claims 30000 x 30000 pixels (a decompression bomb), with a tiny body. */
    static Path hugePng(Path file) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(13).putInt(30000).putInt(30000).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(out, "IEND", new byte[0]);
        Files.write(file, out.toByteArray());
        return file;
    }

    static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) throws Exception {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(type.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        crc.update(data);
        out.write(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
        out.write(type.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        out.write(data);
        out.write(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    static List<JsonNode> lines(Path file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    @Test
    void badImagesAreReportedPerItemAndTheRestClassified(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        png(images.resolve("a.png"), 1);
        png(images.resolve("b.png"), 2);
        Files.writeString(images.resolve("notes.jpg"), "not an image at all");
        byte[] jpeg = Files.readAllBytes(EmbeddedModel.sample("photo.jpg"));
        Files.write(images.resolve("cut.jpg"), java.util.Arrays.copyOf(jpeg, jpeg.length / 2));
        hugePng(images.resolve("huge.png"));
        Path out = dir.resolve("out.jsonl");
        CommandsTest.Result r = CommandsTest.run("classify", "--batch-size", "3", "--output", out.toString(), images.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("3 of 5 image(s) failed");
        Map<String, JsonNode> byName = new HashMap<>();
        for (JsonNode n : lines(out)) {
            byName.put(Path.of(n.get("image").asText()).getFileName().toString(), n);
        }
        assertThat(byName).containsOnlyKeys("a.png", "b.png", "notes.jpg", "cut.jpg", "huge.png");
        assertThat(byName.get("huge.png").get("error").asText()).contains("30000");
        assertThat(byName.get("notes.jpg").get("error").asText()).contains("notes.jpg");
        assertThat(byName.get("cut.jpg").get("error").asText()).containsIgnoringCase("truncated");
        for (String good : List.of("a.png", "b.png")) {
            JsonNode n = byName.get(good);
            assertThat(Emotion.labels()).contains(n.get("emotion").asText());
            double sum = 0;
            for (String label : Emotion.labels()) {
                sum += n.get("probabilities").get(label).asDouble();
            }
            assertThat(sum).isCloseTo(1.0, within(1e-5));
        }

        // a rerun skips what is done and retries only the failures
        CommandsTest.Result again = CommandsTest.run("classify", "--batch-size", "3", "--output", out.toString(), images.toString());
        assertThat(again.err()).contains("2 image(s) already in");
        assertThat(lines(out)).hasSize(5);   // one line per image, also for the images that failed twice

        // the same file from another mode is never mixed in
        CommandsTest.Result other = CommandsTest.run("classify", "--mode", "generate", "--output", out.toString(), images.toString());
        assertThat(other.code()).isNotZero();
        assertThat(other.err()).contains(out.toString()).contains("another run").contains("--fresh");
        CommandsTest.Result fresh = CommandsTest.run("classify", "--mode", "generate", "--fresh", "--output", out.toString(),
                images.resolve("a.png").toString());
        assertThat(fresh.code()).as(fresh.err()).isZero();
        assertThat(lines(out)).hasSize(1);
    }

    @Test
    void runningOutOfHeapOnOneImageLosesOnlyThatImage(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        png(images.resolve("a.png"), 1);
        BufferedImage big = new BufferedImage(6000, 6000, BufferedImage.TYPE_INT_RGB);   // one colour: a small file, 108 MB decoded
        ImageIO.write(big, "png", images.resolve("big.png").toFile());
        png(images.resolve("c.png"), 3);
        Path out = dir.resolve("out.jsonl");
        // A JVM of its own with a heap too small for the big image (the test JVM's classpath).
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m",
                "-cp", System.getProperty("java.class.path"), "org.emovit.cli.Main", "classify", "--batch-size", "3",
                "--output", out.toString(), images.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(log).isEqualTo(2);
        Map<String, JsonNode> byName = new HashMap<>();
        for (JsonNode n : lines(out)) {
            byName.put(Path.of(n.get("image").asText()).getFileName().toString(), n);
        }
        assertThat(byName).containsOnlyKeys("a.png", "big.png", "c.png");
        assertThat(byName.get("big.png").get("error").asText()).contains("out of Java heap memory").contains("EMOVIT_JAVA_OPTS");
        assertThat(byName.get("a.png").get("emotion").asText()).isIn(Emotion.labels());
        assertThat(byName.get("c.png").get("emotion").asText()).isIn(Emotion.labels());
    }

    @Test
    void evalKeysImagesByTheirPathNotTheirFileName(@TempDir Path dir) throws Exception {
        Path emoset = dir.resolve("mine");
        List<List<String>> split = new ArrayList<>();
        for (String e : List.of("awe", "fear")) {
            png(emoset.resolve("image/" + e + "/001.png"), e.length());
            split.add(List.of(e, "image/" + e + "/001.png", "annotation/" + e + "/001.json"));
        }
        split.add(List.of("joy", "image/awe/001.png", "annotation/awe/001.json"));
        Files.writeString(emoset.resolve("test.json"), JSON.writeValueAsString(split));
        Path out = dir.resolve("eval");
        CommandsTest.Result r = CommandsTest.run("eval", "--dataset", emoset.resolve("test.json").toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("label 'joy' is none of the 8 emotions");
        assertThat(lines(out.resolve("predictions.jsonl"))).extracting(n -> n.get("id").asText())
                .containsExactly("image/awe/001.png", "image/fear/001.png");
        JsonNode metrics = JSON.readTree(out.resolve("metrics.json").toFile());
        assertThat(metrics.get("total").asLong()).isEqualTo(2);

        // another dataset into the same --out is refused, not mixed in
        Path other = dir.resolve("other.json");
        Files.writeString(other, JSON.writeValueAsString(split.subList(0, 1)));
        Files.copy(other, emoset.resolve("val.json"));
        CommandsTest.Result mixed = CommandsTest.run("eval", "--dataset", emoset.resolve("val.json").toString(), "--out", out.toString());
        assertThat(mixed.code()).isNotZero();
        assertThat(mixed.err()).contains("another run");

        // a split with nothing to evaluate fails and says why
        Files.writeString(emoset.resolve("empty.json"), "[]");
        CommandsTest.Result empty = CommandsTest.run("eval", "--dataset", emoset.resolve("empty.json").toString(),
                "--out", dir.resolve("e2").toString());
        assertThat(empty.code()).isNotZero();
        assertThat(empty.err()).contains("nothing to evaluate").contains("empty.json");
    }

    @Test
    void explanationsOnDemand(@TempDir Path dir) throws Exception {
        Path img = png(dir.resolve("a.png"), 7);
        Path out = dir.resolve("out.jsonl");
        CommandsTest.Result r = CommandsTest.run("classify", "--explain", "--explain-tokens", "5", "--output", out.toString(), img.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(lines(out).get(0).has("explanation")).isTrue();
    }

    @Test
    void batchSizeDoesNotChangeTheAnswers(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("images");
        for (int i = 0; i < 3; i++) {
            png(images.resolve("img" + i + ".png"), 10 + i);
        }
        Path one = dir.resolve("one.jsonl"), three = dir.resolve("three.jsonl");
        assertThat(CommandsTest.run("classify", "--batch-size", "1", "--output", one.toString(), images.toString()).code()).isZero();
        assertThat(CommandsTest.run("classify", "--batch-size", "3", "--output", three.toString(), images.toString()).code()).isZero();
        List<JsonNode> a = lines(one), b = lines(three);
        for (int i = 0; i < 3; i++) {
            assertThat(a.get(i).get("emotion")).isEqualTo(b.get(i).get("emotion"));
            for (String label : Emotion.labels()) {
                assertThat(a.get(i).get("probabilities").get(label).asDouble())
                        .isCloseTo(b.get(i).get("probabilities").get(label).asDouble(), within(1e-5));
            }
        }
    }

    /** accuracy and macro-F1 from the predictions file, by hand. */
    static void checkMetrics(Path out) throws Exception {
        List<JsonNode> preds = lines(out.resolve("predictions.jsonl"));
        int correct = 0, total = 0;
        Map<String, int[]> perClass = new HashMap<>();   // tp, fp, fn
        for (String l : Emotion.labels()) {
            perClass.put(l, new int[3]);
        }
        for (JsonNode p : preds) {
            if (p.hasNonNull("error")) {
                continue;
            }
            String gold = p.get("gold").asText(), pred = p.get("predicted").asText();
            total++;
            if (gold.equals(pred)) {
                correct++;
                perClass.get(gold)[0]++;
            } else {
                perClass.get(gold)[2]++;
                if (perClass.containsKey(pred)) {
                    perClass.get(pred)[1]++;
                }
            }
        }
        double f1sum = 0;
        for (int[] c : perClass.values()) {
            double precision = c[0] + c[1] == 0 ? 0 : (double) c[0] / (c[0] + c[1]);
            double recall = c[0] + c[2] == 0 ? 0 : (double) c[0] / (c[0] + c[2]);
            f1sum += precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        }
        JsonNode metrics = JSON.readTree(out.resolve("metrics.json").toFile());
        assertThat(metrics.get("accuracy").asDouble()).isCloseTo((double) correct / total, within(1e-9));
        assertThat(metrics.get("macro_f1").asDouble()).isCloseTo(f1sum / 8, within(1e-9));
        assertThat(ImageIO.read(out.resolve("confusion.png").toFile())).isNotNull();
        assertThat(Files.readString(out.resolve("confusion.svg"))).contains("amusement");
        assertThat(Files.readAllLines(out.resolve("confusion.csv")).get(0)).contains("amusement");
    }

    @Test
    void evalOnAnEmoSetSplitAndAFolderPerClassSet(@TempDir Path dir) throws Exception {
        Path emoset = dir.resolve("EmoSet");
        List<List<String>> split = new ArrayList<>();
        int n = 0;
        for (String e : Emotion.labels()) {
            for (int i = 0; i < 2; i++) {
                String name = e + "_" + String.format("%05d", n);
                png(emoset.resolve("image/" + e + "/" + name + ".jpg".replace(".jpg", ".png")), n++);
                split.add(List.of(e, "image/" + e + "/" + name + ".png", "annotation/" + e + "/" + name + ".json"));
            }
        }
        Files.writeString(emoset.resolve("test.json"), JSON.writeValueAsString(split));
        Path out = dir.resolve("eval-emoset");
        CommandsTest.Result r = CommandsTest.run("eval", "--dataset", emoset.resolve("test.json").toString(), "--out", out.toString(),
                "--batch-size", "4");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("images/s");
        assertThat(lines(out.resolve("predictions.jsonl"))).hasSize(16);
        checkMetrics(out);

        CommandsTest.Result again = CommandsTest.run("eval", "--dataset", emoset.resolve("test.json").toString(), "--out", out.toString());
        assertThat(again.code()).isZero();
        assertThat(again.err()).contains("16 of 16 image(s) already predicted");
        assertThat(lines(out.resolve("predictions.jsonl"))).hasSize(16);

        Path folders = dir.resolve("Emotion6");
        png(folders.resolve("joy/j1.png"), 100);
        png(folders.resolve("joy/j2.png"), 101);
        png(folders.resolve("fear/f1.png"), 102);
        png(folders.resolve("sadness/s1.png"), 103);
        Path mapping = dir.resolve("mapping.json");
        Files.writeString(mapping, "{\"joy\": \"amusement\", \"fear\": \"fear\", \"sadness\": \"sadness\"}");
        Path out2 = dir.resolve("eval-folders");
        CommandsTest.Result r2 = CommandsTest.run("eval", "--dataset", folders.toString(), "--mapping", mapping.toString(),
                "--out", out2.toString());
        assertThat(r2.code()).as(r2.err()).isZero();
        assertThat(lines(out2.resolve("predictions.jsonl"))).hasSize(4);
        checkMetrics(out2);
    }
}
