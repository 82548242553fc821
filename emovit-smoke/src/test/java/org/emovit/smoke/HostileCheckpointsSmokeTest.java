package org.emovit.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.emovit.smoke.Artifacts.emovit;
import static org.emovit.smoke.Inputs.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.zip.ZipFile;
import org.emovit.smoke.Artifacts.Result;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What issue 24 reported, run as a user runs it: each case used to crash the JVM or answer silently wrong, and now
 * classifies as f32 does within the int8 bound or stops with one line and exit 1.
 */
class HostileCheckpointsSmokeTest {
    static final String QKV_SCALE = "vision_model.encoder.layers.0.self_attn.qkv.weight_scale";
    @TempDir static Path dir;
    static Path photo;
    static Path int8;

    @BeforeAll
    static void convertTheEmbeddedModelToInt8() throws Exception {
        photo = Inputs.image(dir.resolve("photo.jpg"), 3);
        int8 = dir.resolve("int8");
        Result r = emovit(dir, "convert", "--dtype", "f32", "--quantize", "int8", "--out", int8.toString());
        assertThat(r.code()).as(r.both()).isZero();
    }

    /** Widths that are no multiple of 16 (the int8 kernel's step): one image SIGSEGV'd in int8pack_mm_kernel. */
    @Test
    void aModelOfItsOwnWidthsClassifiesOneImageAsItsF32Conversion() throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(embeddedConfig());
        ((ObjectNode) config.get("vision_config")).put("hidden_size", 40).put("intermediate_size", 72);
        ((ObjectNode) config.get("text_config")).put("hidden_size", 40).put("intermediate_size", 88).put("head_dim", 10);
        ((ObjectNode) config.get("qformer_config")).put("encoder_hidden_size", 40);
        Path configFile = dir.resolve("odd-widths.json");
        JSON.writeValue(configFile.toFile(), config);
        JsonNode[] results = new JsonNode[2];
        String[] quantize = {"none", "int8"};
        for (int i = 0; i < 2; i++) {
            Path out = dir.resolve("odd-" + quantize[i]);
            Result c = emovit(dir, "convert", "--config", configFile.toString(), "--dtype", "f32", "--quantize", quantize[i], "--out", out.toString());
            assertThat(c.code()).as(c.both()).isZero();
            results[i] = classifyOne(out);
        }
        assertCloseProbabilities(results[1], results[0], 0.01);
    }

    /** A valid re-layout of the int8 conversion with every tensor 8 bytes off a 16-byte boundary: SIGSEGV before. */
    @Test
    void tensorsAtEightByteOffsetsClassifyAsTheAlignedFile() throws Exception {
        Path shifted = copyModel(int8, "shifted");
        relayout(int8.resolve("model.safetensors"), shifted.resolve("model.safetensors"), Map.of());
        JsonNode fromShifted = classifyOne(shifted);
        assertCloseProbabilities(fromShifted, classifyOne(int8), 1e-6);
        assertCloseProbabilities(fromShifted, classifyOne(null), 0.01);   // the embedded f32 model: the int8 bound
    }

    @Test
    void aNaNScaleIsOneLineAndExit1() throws Exception {
        Path bad = copyModel(int8, "nan-scale");
        relayout(int8.resolve("model.safetensors"), bad.resolve("model.safetensors"), Map.of(QKV_SCALE, Float.NaN));
        Result r = emovit(dir, "classify", "--model", bad.toString(), photo.toString());
        assertThat(r.code()).as(r.both()).isEqualTo(1);
        // the error is the one line emovit prints (libtorch's deprecation notes of the FBGEMM probe may precede it)
        assertThat(r.err().lines().filter(l -> l.startsWith("emovit:")).toList()).as(r.both()).singleElement().asString()
                .contains(QKV_SCALE).contains(bad.resolve("model.safetensors").toString()).contains("NaN at row 0");
        assertThat(r.err()).as(r.both()).doesNotContain("frame #");
    }

    @Test
    void anOutOfRangeThreadCountIsOneLineAndExit1WithoutNativeOutput() throws Exception {
        for (String value : new String[] {"100000", "abc"}) {
            Result r = emovit(dir, Map.of("OMP_NUM_THREADS", value), "classify", photo.toString());
            assertThat(r.code()).as(r.both()).isEqualTo(1);
            assertThat(r.err().strip()).as(r.both()).startsWith("emovit: OMP_NUM_THREADS='" + value + "'").doesNotContain("\n");
            assertThat(r.out()).isEmpty();
        }
    }

    /** One image classified by the model in {@code model}, or by the embedded one (null). */
    private static JsonNode classifyOne(Path model) throws Exception {
        Result r = model == null ? emovit(dir, "classify", photo.toString()) : emovit(dir, "classify", "--model", model.toString(), photo.toString());
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.jsonLines()).as(r.both()).hasSize(1);
        return JSON.readTree(r.jsonLines().get(0));
    }

    private static void assertCloseProbabilities(JsonNode actual, JsonNode expected, double tolerance) {
        for (String e : Inputs.EMOTIONS) {
            assertThat(actual.get("probabilities").get(e).asDouble()).as(e)
                    .isCloseTo(expected.get("probabilities").get(e).asDouble(), within(tolerance));
        }
    }

    private static byte[] embeddedConfig() throws Exception {
        try (ZipFile jar = new ZipFile(Artifacts.CLI_JAR.toFile());
             InputStream in = jar.getInputStream(jar.getEntry("org/emovit/embedded/tiny-instructblip/config.json"))) {
            return in.readAllBytes();
        }
    }

    /** The model folder without its tensors. */
    private static Path copyModel(Path from, String name) throws Exception {
        Path to = dir.resolve(name);
        for (Path f : Artifacts.files(from)) {
            if (!f.getFileName().toString().endsWith(".safetensors")) {
                Path target = to.resolve(from.relativize(f).toString());
                Files.createDirectories(target.getParent());
                Files.copy(f, target);
            }
        }
        return to;
    }

    /**
     * {@code from} rewritten with every tensor starting 8 bytes past a 16-byte boundary of the file (safetensors
     * only promises 8), and the first value of each tensor named in {@code firstValues} (F32) replaced.
     */
    static void relayout(Path from, Path to, Map<String, Float> firstValues) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(from)).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) in.getLong(0);
        ObjectNode header = (ObjectNode) JSON.readTree(new String(in.array(), 8, headerLength, StandardCharsets.UTF_8));
        int dataStart = 8 + headerLength;
        String json = JSON.writeValueAsString(header);
        int newStart = 8 + 2 * json.length();   // room for the offsets growing with the gaps; padded below
        newStart += (8 - newStart % 64 + 64) % 64;   // data from 8 (mod 64)
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            while ((newStart + data.size()) % 16 != 8) {
                data.write(0);
            }
            ObjectNode t = (ObjectNode) e.getValue();
            int begin = t.get("data_offsets").get(0).asInt(), end = t.get("data_offsets").get(1).asInt();
            byte[] bytes = java.util.Arrays.copyOfRange(in.array(), dataStart + begin, dataStart + end);
            if (firstValues.containsKey(e.getKey())) {
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, firstValues.get(e.getKey()));
            }
            t.putArray("data_offsets").add(data.size()).add(data.size() + bytes.length);
            data.write(bytes, 0, bytes.length);
        }
        byte[] newHeader = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        assertThat(8 + newHeader.length).isLessThanOrEqualTo(newStart);
        ByteBuffer out = ByteBuffer.allocate(newStart + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(newStart - 8).put(newHeader);
        while (out.position() < newStart) {
            out.put((byte) ' ');   // the format pads its header with spaces
        }
        out.put(data.toByteArray());
        Files.write(to, out.array());
    }
}
