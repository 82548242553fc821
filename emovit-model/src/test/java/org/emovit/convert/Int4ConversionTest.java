package org.emovit.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.model.ModelLoadException;
import org.emovit.model.quant.Int4Format;
import org.emovit.weights.DType;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code emovit convert --quantize int4}: the key scheme, a load that packs it, score-mode accuracy, a refusal. */
class Int4ConversionTest {
    @Test
    void int4ModelScoresWithin003OfF32(@TempDir Path tmp) throws Exception {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            convertAndScore(tmp.resolve("int4"));
        }
    }

    private static void convertAndScore(Path out) {
        ModelConverter.convert(ModelSpec.embedded(), out, ModelConverter.DEFAULT_SHARD_BYTES, org.emovit.model.quant.Quantization.INT4);

        int int4 = 0;
        try (TensorSource files = Safetensors.open(out.resolve("model.safetensors"))) {
            for (String key : files.keys()) {
                if (files.get(key).dtype() == DType.U8) {
                    int4++;
                    long[] shape = files.get(key).shape();
                    assertThat(key).startsWith("language_model.");
                    assertThat(files.get(Int4Format.WRITTEN.params.of(key)).dtype()).as(key).isEqualTo(DType.BF16);
                    assertThat(files.get(Int4Format.WRITTEN.params.of(key)).shape()).as(key)
                            .containsExactly(Int4Format.WRITTEN.paramsShape(shape[0], shape[1] * 2));
                }
            }
        }
        assertThat(int4).as("4-bit LLM Linears").isPositive();

        ModelSpec spec = new ModelSpec(out.toString(), null, null, null, null, null, null, null, "f32", "cpu");
        try (EmoVit reference = ModelSpec.embedded().open(); EmoVit quantised = spec.open()) {
            List<Map<String, Double>> expected = Int8ConversionTest.probabilities(reference);
            List<Map<String, Double>> actual = Int8ConversionTest.probabilities(quantised);
            double worst = 0;
            for (int i = 0; i < expected.size(); i++) {
                for (Map.Entry<String, Double> p : expected.get(i).entrySet()) {
                    worst = Math.max(worst, Math.abs(actual.get(i).get(p.getKey()) - p.getValue()));
                }
            }
            System.out.printf("int4 vs f32 score-mode probabilities: max |diff| %.5f (%d 4-bit Linears)%n", worst, int4);
            assertThat(worst).isLessThan(0.03);
        }
    }

    @Test
    void strayScalesAndZerosAreRefusedNamingKeyAndFile(@TempDir Path tmp) throws Exception {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            refuseStray(tmp);
        }
    }

    private static void refuseStray(Path tmp) throws Exception {
        Path out = tmp.resolve("stray");
        ModelConverter.convert(ModelSpec.embedded(), out, ModelConverter.DEFAULT_SHARD_BYTES, org.emovit.model.quant.Quantization.NONE);
        Path file = out.resolve("model.safetensors");
        Map<String, org.bytedeco.pytorch.Tensor> tensors = new java.util.LinkedHashMap<>();
        try (TensorSource files = Safetensors.open(file)) {
            for (String key : files.keys()) {
                tensors.put(key, org.emovit.model.Tensors.viewOf(files.get(key)).clone());
            }
        }
        String key = Int4Format.WRITTEN.params.of("language_model.model.layers.0.mlp.up_proj.weight");
        tensors.put(key, org.bytedeco.pytorch.global.torch.ones(new long[] {4, 2, 2}));
        java.nio.file.Files.delete(file);
        SafetensorsDirectoryWriter.write(out, tensors, null, ModelConverter.DEFAULT_SHARD_BYTES);
        ModelSpec spec = new ModelSpec(out.toString(), null, null, null, null, null, null, null, "f32", "cpu");
        assertThatThrownBy(spec::open).isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith("stray int4 group parameters '" + key + "' from " + file)
                .hasMessageEndingWith("is not a 4-bit Linear weight");
    }
}
