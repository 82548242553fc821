package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.quant.NativeInt4;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The native decoding step ({@link LlamaNativeStep}, over a {@link RowSlotCache}) against LlamaDecoder's libtorch
 * layers over a {@link KvCache} on the same 4-bit weights: two rows of different prompt lengths (one left-padded),
 * several steps, so each step reads the keys and values the earlier ones wrote. In float32 the two differ only in
 * the order of float sums: about 4e-7 of the logits, except where that moves one of a product's int8 activations
 * across a rounding step (measured in about one step of four here), which moves the logits by 2-5e-3 from then on; in
 * bf16 the libtorch path rounds every intermediate vector to bf16 where the native one keeps float32 (1.0-1.3e-2). A misread operand (a head of the
 * wrong key group, a rotary angle at the wrong position, a key written to the wrong column) moves the logits by about
 * their own size, far beyond the bounds.
 */
class LlamaNativeStepTest {
    private static final Device CPU = new Device("cpu");
    private static final int STEPS = 4;

    @ParameterizedTest(name = "{0}, {1} key/value heads of 4")
    @CsvSource({"Float, 4, 0.01", "Float, 2, 0.01", "BFloat16, 4, 0.03", "BFloat16, 2, 0.03"})
    void aNativeStepIsTheLibtorchStep(String dtypeName, int kvHeads, double bound) {
        Assumptions.assumeTrue(NativeInt4.available(), () -> "no native 4-bit kernel: " + NativeInt4.unavailableReason());
        ScalarType dtype = ScalarType.valueOf(dtypeName);
        LlamaConfig cfg = new LlamaConfig(256, 512, 2, 4, kvHeads, 64, 514, 1e-6, 10000.0, 2048, false, 1, 2, 0);
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            StateDict w = StateDict.random(dtype, CPU, 7);
            w.linears().toInt4(key -> key.contains(".layers."));
            LlamaDecoder llm = new LlamaDecoder(cfg, w);
            assertThat(llm.decodesNatively()).as("every layer's Linear is a native 4-bit weight").isTrue();

            Tensor ids = Tensors.fromLongs(new long[] {1, 17, 230, 5, 401, 99, 12, 77, 0, 0, 0, 1, 40, 41, 42, 43}, 2, 8);
            Tensor mask = Tensors.fromLongs(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1}, 2, 8);
            try (KvCache reference = new KvCache(cfg.numLayers()); KvCache prompt = new KvCache(cfg.numLayers());
                 RowSlotCache slots = new RowSlotCache(cfg.numLayers())) {
                llm.forward(llm.embed(ids), mask, Ops.positionsFromMask(mask), reference);
                llm.forward(llm.embed(ids), mask, Ops.positionsFromMask(mask), prompt);
                slots.addRows(prompt);
                long[] lengths = {8, 5};
                for (int step = 0; step < STEPS; step++) {
                    Tensor next = Tensors.fromLongs(new long[] {100 + step, 300 - 7 * step}, 2, 1);
                    Tensor positions = Tensors.fromLongs(lengths, 2, 1);
                    Tensor ones = torch.ones_like(next);
                    Tensor expected = llm.logits(llm.forward(llm.embed(next), ones, positions, reference)).to(ScalarType.Float);
                    Tensor actual = llm.logits(llm.forward(llm.embed(next), ones, positions, slots)).to(ScalarType.Float);
                    double error = actual.sub(expected).norm().item_double() / expected.norm().item_double();
                    System.out.printf(java.util.Locale.ROOT, "native step %d, %s, %d kv heads: relative error %.2e%n", step, dtype, kvHeads, error);
                    assertThat(error).as("step %d's logits, native against libtorch", step).isLessThan(bound);
                    lengths[0]++;
                    lengths[1]++;
                }
                assertThat(slots.length(0)).isEqualTo(8 + STEPS);
                assertThat(slots.length(1)).isEqualTo(5 + STEPS);
            }
        }
    }
}
