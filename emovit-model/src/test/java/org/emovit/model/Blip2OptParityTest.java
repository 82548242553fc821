package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.emovit.model.Fixtures.relativeError;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.GreedyDecoder;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.Test;

/** The BLIP-2 OPT captioner (tiny random reference) against HF transformers. */
class Blip2OptParityTest {

    @Test
    void logitsQformerOutputAndGreedyIdsMatch() {
        try (NoGradGuard g = new NoGradGuard();
             TensorSource cases = Safetensors.open(Fixtures.resource("tiny-blip2-opt").resolve("cases.safetensors"));
             Blip2Opt m = Blip2OptLoader.load(Fixtures.resource("tiny-blip2-opt").resolve("hf"), ScalarType.Float, new Device("cpu"))) {
            long[][] ids = InstructBlipParityTest.idsFrom(cases.get("input.input_ids"));
            Tensor pixels = Tensors.viewOf(cases.get("input.pixel_values")).clone();
            Tensor mask = Tensors.viewOf(cases.get("input.attention_mask")).clone();
            Blip2Opt.Outputs o = m.forward(pixels, ids, mask);
            assertThat(relativeError(Tensors.toFloats(o.qformerLastHiddenState()),
                    cases.get("expected.qformer_last_hidden_state").toFloatArray())).isLessThan(1e-4);
            assertThat(relativeError(Tensors.toFloats(o.logits()), cases.get("expected.logits").toFloatArray())).isLessThan(1e-4);

            Tensor embeds = m.inputEmbeddings(new long[][] {ids[0]}, Ops.slice(o.languageModelInputs(), 0, 0, 1));
            long[] greedy = new GreedyDecoder(m.languageModel(), -1, 1).generate(embeds, Ops.slice(mask, 0, 0, 1), 6, null)[0];
            assertThat(greedy).containsExactly(cases.get("expected.greedy_ids").toLongArray());
        }
    }
}
