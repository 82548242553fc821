package org.emovit.model.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.api.ModelSpec;
import org.emovit.convert.ModelConverter;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.ModelLoadException;
import org.emovit.model.ModelSource;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An int8 checkpoint whose scales break the rule (NaN, infinite, zero, negative, missing, stray) is refused at load,
 * and so by {@code convert}, in one line naming the key and the file; a float weight with NaN values is refused
 * when {@code convert --quantize int8} would write its scales. Before: exit 0 with every probability 0.0, a silently
 * different model, or a copy of the defect.
 */
class Int8FormatTest {
    static final String QKV = "vision_model.encoder.layers.0.self_attn.qkv.weight";
    @TempDir static Path tmp;
    static Path int8;

    @BeforeAll
    static void convertTheEmbeddedModel() {
        int8 = tmp.resolve("int8");
        ModelConverter.convert(ModelSpec.embedded(), int8, ModelConverter.DEFAULT_SHARD_BYTES, org.emovit.model.quant.Quantization.INT8);
    }

    @Test
    void badScaleValuesAreRefusedNamingKeyRowAndFile() throws Exception {
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0.5f};
        for (float value : bad) {
            Path dir = edited("scale-" + value, t -> {
                float[] s = t.get(QKV + "_scale").toFloatArray();
                s[3] = value;
                t.put(QKV + "_scale", RawTensor.ofFloats(t.get(QKV + "_scale").shape(), s));
            });
            assertRefused(dir, "int8 scale '" + QKV + "_scale' from " + dir.resolve("model.safetensors"), value + " at row 3");
        }
    }

    @Test
    void aMissingScaleIsRefusedInsteadOfRunningRawIntegers() throws Exception {
        Path dir = edited("missing", t -> t.remove(QKV + "_scale"));
        assertRefused(dir, "int8 tensor '" + QKV + "' from " + dir.resolve("model.safetensors"), "has no scales '" + QKV + "_scale'");
    }

    @Test
    void strayScalesAreRefused() throws Exception {
        String norm = "vision_model.encoder.layers.0.layer_norm1.weight_scale";
        Path overNorm = edited("stray-norm", t -> t.put(norm, RawTensor.ofFloats(new long[] {32}, ones(32))));
        assertRefused(overNorm, "stray int8 scale '" + norm + "' from " + overNorm.resolve("model.safetensors"), "is not an int8 Linear weight");
        String nothing = "vision_model.encoder.layers.0.nothing.weight_scale";
        Path alone = edited("stray-alone", t -> t.put(nothing, RawTensor.ofFloats(new long[] {4}, ones(4))));
        assertRefused(alone, "stray int8 scale '" + nothing + "'", "is not in the checkpoint");
    }

    @Test
    void convertRefusesToCopyABadScaleAndToQuantiseNaNWeights() throws Exception {
        Path dir = edited("convert-nan", t -> {
            float[] s = t.get(QKV + "_scale").toFloatArray();
            s[0] = Float.NaN;
            t.put(QKV + "_scale", RawTensor.ofFloats(t.get(QKV + "_scale").shape(), s));
        });
        ModelSpec spec = new ModelSpec(dir.toString(), null, null, null, null, null, null, null, "f32", "cpu");
        assertThatThrownBy(() -> ModelConverter.convert(spec, tmp.resolve("copy"), ModelConverter.DEFAULT_SHARD_BYTES))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining(QKV + "_scale").hasMessageContaining("NaN at row 0");
        assertThat(tmp.resolve("copy")).doesNotExist();

        Path f32 = tmp.resolve("f32");
        ModelConverter.convert(ModelSpec.embedded(), f32, ModelConverter.DEFAULT_SHARD_BYTES);
        Path nanWeight = copyEdited(f32, "nan-weight", t -> {
            float[] w = t.get(QKV).toFloatArray();
            w[5] = Float.NaN;
            t.put(QKV, RawTensor.ofFloats(t.get(QKV).shape(), w));
        });
        ModelSpec nan = new ModelSpec(nanWeight.toString(), null, null, null, null, null, null, null, "f32", "cpu");
        assertThatThrownBy(() -> ModelConverter.convert(nan, tmp.resolve("q"), ModelConverter.DEFAULT_SHARD_BYTES, org.emovit.model.quant.Quantization.INT8))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("int8 scale '" + QKV + "_scale' from " + nanWeight + " (its weight quantised) is NaN at row 0");
        assertThat(tmp.resolve("q")).doesNotExist();
    }

    private static void assertRefused(Path dir, String... parts) {
        assertThatThrownBy(() -> InstructBlipLoader.load(ModelSource.huggingFace(dir), ScalarType.Float, new Device("cpu")).close())
                .isInstanceOf(ModelLoadException.class)
                .satisfies(e -> {
                    assertThat(e.getMessage()).doesNotContain("\n").contains(parts);
                });
    }

    private static Path edited(String name, Consumer<Map<String, RawTensor>> edit) throws Exception {
        return copyEdited(int8, name, edit);
    }

    /** A copy of a converted model folder whose model.safetensors is edited. */
    private static Path copyEdited(Path from, String name, Consumer<Map<String, RawTensor>> edit) throws Exception {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir.resolve("qformer_tokenizer"));
        for (String f : new String[] {"config.json", "tokenizer.model", "qformer_tokenizer/vocab.txt"}) {
            Files.copy(from.resolve(f), dir.resolve(f));
        }
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        try (TensorSource s = Safetensors.open(from.resolve("model.safetensors"))) {
            for (String k : s.keys()) {
                RawTensor t = s.get(k);
                byte[] bytes = new byte[(int) t.nbytes()];
                t.data().get(bytes);
                tensors.put(k, RawTensor.of(t.dtype(), t.shape(), bytes));
            }
        }
        edit.accept(tensors);
        Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of());
        return dir;
    }

    private static float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }
}
