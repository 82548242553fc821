package org.emovit.convert;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.generate.GenerationConfig;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlip;
import org.emovit.weights.DType;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code emovit convert --quantize int8}: the key scheme, a load that maps it in place, and score-mode accuracy. */
class Int8ConversionTest {
    static NoGradGuard noGrad;

    @BeforeAll
    static void open() {
        noGrad = new NoGradGuard();
    }

    @AfterAll
    static void close() {
        noGrad.close();
    }

    static List<Map<String, Double>> probabilities(EmoVit e) {
        List<RgbImage> images = new ArrayList<>();
        for (String name : EmbeddedModel.SAMPLES) {
            images.add(ImageDecoder.decode(EmbeddedModel.sample(name)));
        }
        List<Map<String, Double>> out = new ArrayList<>();
        for (EmoVit.Result r : e.classify(images, EmoVit.Mode.SCORE, GenerationConfig.emovit())) {
            out.add(r.probabilities());
        }
        return out;
    }

    @Test
    void int8ModelScoresWithin001OfF32AndMapsInPlace(@TempDir Path tmp) {
        Path out = tmp.resolve("int8");
        ModelConverter.convert(ModelSpec.embedded(), out, ModelConverter.DEFAULT_SHARD_BYTES, org.emovit.model.quant.Quantization.INT8);

        int quantised = 0;
        try (TensorSource files = Safetensors.open(out.resolve("model.safetensors"))) {
            for (String key : files.keys()) {
                boolean linear = org.emovit.model.quant.Quantization.QUANTIZED_LINEAR.matcher(key).matches();
                if (linear) {
                    quantised++;
                    long[] shape = files.get(key).shape();
                    assertThat(files.get(key).dtype()).as(key).isEqualTo(DType.I8);
                    assertThat(files.get(key + "_scale").dtype()).as(key).isEqualTo(DType.F32);
                    assertThat(files.get(key + "_scale").shape()).as(key).containsExactly(shape[0]);
                } else if (!key.endsWith(".weight_scale")) {
                    assertThat(files.get(key).dtype()).as(key).isNotEqualTo(DType.I8);
                }
            }
        }
        // 7 per LLM layer, the LM head, 4 per ViT block
        assertThat(quantised).isEqualTo(7 * numLayers(out, "text_config") + 1 + 4 * numLayers(out, "vision_config"));

        ModelSpec int8 = new ModelSpec(out.toString(), null, null, null, null, null, null, null, "f32", "cpu");
        try (EmoVit reference = ModelSpec.embedded().open(); EmoVit quantisedModel = int8.open()) {
            List<Map<String, Double>> expected = probabilities(reference);
            List<Map<String, Double>> actual = probabilities(quantisedModel);
            assertThat(actual).hasSameSizeAs(expected);
            double worst = 0;
            for (int i = 0; i < expected.size(); i++) {
                assertThat(actual.get(i).keySet()).isEqualTo(expected.get(i).keySet());
                for (Map.Entry<String, Double> p : expected.get(i).entrySet()) {
                    worst = Math.max(worst, Math.abs(actual.get(i).get(p.getKey()) - p.getValue()));
                }
            }
            System.out.printf("int8 vs f32 score-mode probabilities: max |diff| %.5f%n", worst);
            assertThat(worst).isLessThan(0.01);
            // The int8 weights and their scales are the file's bytes, not copies.
            InstructBlip m = quantisedModel.model();
            // The LLM's are packed for FBGEMM where its sums are exact (from a file read: the mapping stays unread).
            java.util.Set<String> llmLinears = new java.util.TreeSet<>();
            for (String key : m.namedParameters().keySet()) {
                if (org.emovit.model.quant.Quantization.QUANTIZED_LINEAR.matcher(key).matches() && key.startsWith("language_model.")) {
                    llmLinears.add(key);
                }
            }
            assertThat(llmLinears).hasSize(7 * numLayers(out, "text_config") + 1);
            assertThat(m.packedInt8Linears()).isEqualTo(org.emovit.model.quant.PackedInt8.available() ? llmLinears : java.util.Set.of());
            List<long[]> mapped = ProcessMappings.of(out.resolve("model.safetensors"));
            for (Map.Entry<String, Tensor> p : m.namedParameters().entrySet()) {
                if (org.emovit.model.quant.Quantization.QUANTIZED_LINEAR.matcher(p.getKey()).matches() || p.getKey().endsWith(".weight_scale")) {
                    long start = p.getValue().data_ptr().address();
                    long end = start + p.getValue().numel() * p.getValue().element_size();
                    assertThat(mapped.stream().anyMatch(r -> r[0] <= start && end <= r[1])).as("%s lies in the file's mapping", p.getKey()).isTrue();
                }
            }
        }
        // Gradients flow through int8 Linears (the kernel has none): Grad-CAM on the int8 model gives the f32 model's map.
        try (EmoVit reference = ModelSpec.embedded().open(); EmoVit quantisedModel = int8.open()) {
            RgbImage image = ImageDecoder.decode(EmbeddedModel.sample(EmbeddedModel.SAMPLES.get(0)));
            float[] expected = new org.emovit.attribution.Attribution(reference).gradCam(image, org.emovit.core.Emotion.FEAR).weights();
            float[] actual = new org.emovit.attribution.Attribution(quantisedModel).gradCam(image, org.emovit.core.Emotion.FEAR).weights();
            System.out.printf("Grad-CAM, int8 %s against f32 %s%n", java.util.Arrays.toString(actual), java.util.Arrays.toString(expected));
            assertThat(actual).containsExactly(expected, org.assertj.core.data.Offset.offset(0.05f));
        }
        // A bf16 load of the same folder runs the kernel with bf16 activations.
        try (EmoVit bf16 = new ModelSpec(out.toString(), null, null, null, null, null, null, null, "bf16", "cpu").open()) {
            assertThat(probabilities(bf16)).hasSize(EmbeddedModel.SAMPLES.size());
        }
    }

    private static int numLayers(Path dir, String part) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("config.json").toFile())
                    .path(part).path("num_hidden_layers").asInt();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
