package org.emovit.weights;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointWriterTest {

    @Test
    void writtenCheckpointReadsBackBitExact(@TempDir Path dir) {
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        tensors.put("query_tokens", RawTensor.ofFloats(new long[] {1, 2, 3}, new float[] {1, 2, 3, 4, 5, 6.5f}));
        tensors.put("llm_proj.bias", RawTensor.ofFloats(new long[] {4}, new float[] {-1, 0, 1e-8f, 3e7f}));
        tensors.put("big.shape", RawTensor.ofFloats(new long[] {300, 2}, new float[600]));
        tensors.put("steps", RawTensor.ofLongs(new long[] {2}, new long[] {7, 1L << 40}));
        Path file = dir.resolve("model_weights.pth");
        TorchCheckpointWriter.write(file, tensors, "model");
        try (TensorSource back = TorchCheckpoint.open(file)) {
            assertThat(back.keys()).containsExactlyElementsOf(tensors.keySet());
            for (String k : tensors.keySet()) {
                assertThat(back.get(k)).as(k).isEqualTo(tensors.get(k));
            }
        }
        Path bare = dir.resolve("bare.pth");
        TorchCheckpointWriter.write(bare, tensors, null);
        try (TensorSource back = TorchCheckpoint.open(bare)) {
            assertThat(back.keys()).containsExactlyElementsOf(tensors.keySet());
        }
    }
}
