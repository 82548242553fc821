package org.emovit.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.ModelSource;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The feature cache is keyed by the vision tower's content, not by where the model was loaded from. */
class FeatureCacheTest {

    /** A copy of tiny-a with one tensor's first value moved (the frozen weights are memory-mapped read-only: edit the file). */
    static Path editedCopy(Path dir, String tensor) throws Exception {
        Path copy = Files.createDirectories(dir);
        try (var s = Files.walk(TrainerTest.hf())) {
            for (Path p : s.toList()) {
                Path target = copy.resolve(TrainerTest.hf().relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (!p.getFileName().toString().equals("model.safetensors")) {
                    Files.copy(p, target);
                }
            }
        }
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        try (TensorSource src = Safetensors.open(TrainerTest.hf().resolve("model.safetensors"))) {
            for (String k : src.keys()) {
                float[] v = src.get(k).toFloatArray();   // tiny-a is float32 throughout
                if (k.equals(tensor)) {
                    v[0] += 0.5f;
                }
                tensors.put(k, RawTensor.ofFloats(src.get(k).shape(), v));
            }
        }
        Safetensors.write(copy.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        return copy;
    }

    static String key(Path hf) {
        try (InstructBlip m = InstructBlipLoader.load(ModelSource.huggingFace(hf), ScalarType.Float, TrainerTest.CPU, Trainer::isTrainable)) {
            return FeatureCache.modelKey(m);
        }
    }

    @Test
    void anEditedVisionTowerGetsANewKeyAndTheTunedLnVisionDoesNot(@TempDir Path dir) throws Exception {
        String key = key(TrainerTest.hf());
        assertThat(key).startsWith("eval").contains("-float-").isEqualTo(key(TrainerTest.hf()));
        assertThat(key(editedCopy(dir.resolve("fc1"), "vision_model.encoder.layers.0.mlp.fc1.weight"))).isNotEqualTo(key);
        assertThat(key(editedCopy(dir.resolve("embeddings"), "vision_model.embeddings.class_embedding"))).isNotEqualTo(key);
        // ln_vision is applied after the cache and tuned by training: it must not invalidate the cached features
        assertThat(key(editedCopy(dir.resolve("ln"), "vision_model.post_layernorm.weight"))).isEqualTo(key);
        assertThat(key(editedCopy(dir.resolve("qformer"), "query_tokens"))).isEqualTo(key);
    }
}
