package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint that does not fit its config fails at load time, naming the key, the file and the shapes. */
class CheckpointErrorsTest {

    /** A copy of the tiny HF directory whose model.safetensors is edited by the caller. */
    static Path editedModel(Path dir, java.util.function.Consumer<Map<String, RawTensor>> edit) throws IOException {
        Path src = Fixtures.tinyA().resolve("hf");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        try (TensorSource s = Safetensors.open(src.resolve("model.safetensors"))) {
            for (String k : s.keys()) {
                tensors.put(k, RawTensor.ofFloats(s.get(k).shape(), s.get(k).toFloatArray()));
            }
        }
        edit.accept(tensors);
        Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of());
        return dir;
    }

    static void load(Path dir) {
        InstructBlipLoader.load(ModelSource.huggingFace(dir), ScalarType.Float, new Device("cpu")).close();
    }

    @Test
    void missingTensorIsNamedWithItsExpectedShape(@TempDir Path dir) throws IOException {
        editedModel(dir, t -> t.remove("qformer.encoder.layer.1.output_query.dense.weight"));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing tensor 'qformer.encoder.layer.1.output_query.dense.weight'")
                .hasMessageContaining("[32, 48]")
                .hasMessageContaining("model.safetensors");
    }

    @Test
    void misShapedTensorNamesBothShapes(@TempDir Path dir) throws IOException {
        editedModel(dir, t -> t.put("language_projection.weight", RawTensor.ofFloats(new long[] {48, 31}, new float[48 * 31])));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("language_projection.weight")
                .hasMessageContaining("[48, 31]")
                .hasMessageContaining("[48, 32]");
    }

    @Test
    void unexpectedTensorIsNamed(@TempDir Path dir) throws IOException {
        editedModel(dir, t -> t.put("vision_model.encoder.layers.7.mlp.fc1.weight", RawTensor.ofFloats(new long[] {2}, new float[2])));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("unexpected")
                .hasMessageContaining("vision_model.encoder.layers.7.mlp.fc1.weight");
    }

    @Test
    void unknownPresetAndMissingLavisPartsAreExplained() {
        assertThatThrownBy(() -> InstructBlipConfig.preset("vicuna13b")).hasMessageContaining("vicuna13b").hasMessageContaining("vicuna7b");
        Path l = Fixtures.tinyA().resolve("lavis");
        assertThatThrownBy(() -> InstructBlipLoader.load(ModelSource.lavis(l.resolve("eva_vit.pth"), null, l.resolve("vicuna"), null,
                Fixtures.tinyA().resolve("hf/config.json")), ScalarType.Float, new Device("cpu"))).hasMessageContaining("--qformer");
    }

    @Test
    void aTokenizerThatDoesNotBelongToTheModelIsRefusedOnLoad(@TempDir Path dir) throws IOException {
        Path src = Fixtures.tinyA().resolve("hf");
        // the tiny model's tokenizers, with a config that says the table has 32001 rows (Vicuna-7B's)
        String config = Files.readString(src.resolve("config.json")).replace("\"vocab_size\": 514", "\"vocab_size\": 32001");
        Files.writeString(dir.resolve("config.json"), config);
        InstructBlipConfig cfg = InstructBlipConfig.read(dir.resolve("config.json"));
        assertThatThrownBy(() -> org.emovit.api.InstructBlipProcessor.load(cfg, src, src.resolve("qformer_tokenizer/vocab.txt")))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(src.resolve("tokenizer.model").toString())
                .hasMessageContaining("32001").hasMessageContaining("does not belong");
    }

    @Test
    void aModelDirectoryThatDoesNotExistIsNamedAsSuch(@TempDir Path dir) {
        assertThatThrownBy(() -> load(dir.resolve("typo"))).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("model directory not found").hasMessageContaining("typo");
    }
}
