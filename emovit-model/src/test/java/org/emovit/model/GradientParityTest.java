package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.Test;

/** The LM loss's gradients for the tensors EmoVIT tunes, with the ViT and the LLM frozen, against PyTorch's. */
class GradientParityTest {

    static boolean trainable(String key) {
        return key.startsWith("qformer.") || key.equals("query_tokens") || key.startsWith("language_projection.");
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    @Test
    void lossAndGradientsMatchTheReference() {
        try (TensorSource cases = Safetensors.open(Fixtures.tinyA().resolve("cases.safetensors"));
             InstructBlip m = InstructBlipLoader.load(ModelSource.huggingFace(Fixtures.tinyA().resolve("hf")), ScalarType.Float,
                     new Device("cpu"), GradientParityTest::trainable)) {
            for (Map.Entry<String, Tensor> p : m.namedParameters().entrySet()) {
                if (trainable(p.getKey())) {
                    p.getValue().requires_grad_(true);
                }
            }
            long[][] ids = InstructBlipParityTest.idsFrom(cases.get("input.input_ids"));
            InstructBlip.Outputs o = m.forward(Tensors.viewOf(cases.get("input.pixel_values")).clone(),
                    Tensors.viewOf(cases.get("input.qformer_input_ids")).clone(),
                    Tensors.viewOf(cases.get("input.qformer_attention_mask")).clone(), ids,
                    Tensors.viewOf(cases.get("input.attention_mask")).clone());
            Tensor loss = InstructBlip.loss(o.logits(), Tensors.viewOf(cases.get("input.labels")).clone());
            assertThat((double) Tensors.toFloats(loss)[0]).isCloseTo(cases.get("expected.loss").toFloatArray()[0],
                    org.assertj.core.data.Offset.offset(1e-5));
            loss.backward();
            int compared = 0;
            for (String key : cases.keys()) {
                if (!key.startsWith("expected.grad.")) {
                    continue;
                }
                String name = key.substring("expected.grad.".length());
                Tensor param = m.namedParameters().get(name);
                assertThat(param).as(name).isNotNull();
                float[] expected = cases.get(key).toFloatArray(), actual = Tensors.toFloats(param.grad());
                if (maxAbs(expected) < 1e-7) {
                    // A key bias adds the same amount to every score of a query: softmax ignores it, so its true
                    // gradient is 0 and both sides hold rounding noise, which a relative error cannot compare.
                    assertThat(maxAbs(actual)).as(name).isLessThan(1e-6);
                } else {
                    assertThat(Fixtures.relativeError(actual, expected)).as(name).isLessThan(1e-4);
                }
                compared++;
            }
            assertThat(compared).isGreaterThan(30);
        }
    }
}
