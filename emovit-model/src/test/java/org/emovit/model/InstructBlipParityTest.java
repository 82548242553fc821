package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.emovit.model.Fixtures.relativeError;

import java.nio.file.Path;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.GreedyDecoder;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** tiny-a against the Python reference (HF transformers, float32): every layout, the overlay, and bf16. */
class InstructBlipParityTest {
    static TensorSource cases;
    static NoGradGuard noGrad;
    static final Device CPU = new Device("cpu");

    @BeforeAll
    static void open() {
        cases = Safetensors.open(Fixtures.tinyA().resolve("cases.safetensors"));
        noGrad = new NoGradGuard();
    }

    @AfterAll
    static void close() {
        cases.close();
        noGrad.close();
    }

    static ModelSource hf() {
        return ModelSource.huggingFace(Fixtures.tinyA().resolve("hf"));
    }

    static ModelSource lavis() {
        Path l = Fixtures.tinyA().resolve("lavis");
        return ModelSource.lavis(l.resolve("eva_vit.pth"), l.resolve("instructblip_trimmed.pth"), l.resolve("vicuna"),
                null, Fixtures.tinyA().resolve("hf/config.json"));
    }

    static float[] expected(String name) {
        return cases.get(name).toFloatArray();
    }

    static Tensor input(String name) {
        return Tensors.viewOf(cases.get("input." + name)).clone();
    }

    static long[][] ids(String name) {
        return idsFrom(cases.get("input." + name));
    }

    static long[][] idsFrom(RawTensor t) {
        long[] flat = t.toLongArray();
        int rows = (int) t.shape()[0], cols = (int) t.shape()[1];
        long[][] out = new long[rows][cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(flat, r * cols, out[r], 0, cols);
        }
        return out;
    }

    static InstructBlip.Outputs run(InstructBlip m) {
        return m.forward(input("pixel_values"), input("qformer_input_ids"), input("qformer_attention_mask"),
                ids("input_ids"), input("attention_mask"));
    }

    private static void assertMatches(InstructBlip m, String prefix) {
        InstructBlip.Outputs out = run(m);
        if (prefix.isEmpty()) {
            assertThat(relativeError(Tensors.toFloats(out.visionLastHiddenState()), expected("expected.vision_last_hidden_state")))
                    .isLessThan(1e-4);
        }
        assertThat(relativeError(Tensors.toFloats(out.qformerQueryOutput()), expected("expected." + prefix + "qformer_query_output")))
                .isLessThan(1e-4);
        assertThat(relativeError(Tensors.toFloats(out.languageModelInputs()), expected("expected." + prefix + "language_model_inputs")))
                .isLessThan(1e-4);
        assertThat(relativeError(Tensors.toFloats(out.logits()), expected("expected." + prefix + "logits"))).isLessThan(1e-4);
        float loss = Tensors.toFloats(InstructBlip.loss(out.logits(), input("labels")))[0];
        assertThat((double) loss).isCloseTo(expected("expected." + prefix + "loss")[0], org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void huggingFaceLayoutMatchesReference() {
        try (InstructBlip m = InstructBlipLoader.load(hf(), ScalarType.Float, CPU)) {
            assertMatches(m, "");
        }
    }

    @Test
    void lavisPartsMatchReference() {
        try (InstructBlip m = InstructBlipLoader.load(lavis(), ScalarType.Float, CPU)) {
            assertMatches(m, "");
        }
    }

    @Test
    void overlayOnBothLayoutsMatchesReference() {
        Path overlay = Fixtures.tinyA().resolve("lavis/emovit_overlay.pth");
        try (InstructBlip m = InstructBlipLoader.load(hf().withOverlay(overlay), ScalarType.Float, CPU)) {
            assertMatches(m, "overlay.");
        }
        try (InstructBlip m = InstructBlipLoader.load(lavis().withOverlay(overlay), ScalarType.Float, CPU)) {
            assertMatches(m, "overlay.");
        }
    }

    @Test
    void greedyDecodingReproducesReferenceIds() {
        long[] expected = cases.get("expected.greedy_ids").toLongArray();
        for (ModelSource source : new ModelSource[] {hf(), lavis()}) {
            try (InstructBlip m = InstructBlipLoader.load(source, ScalarType.Float, CPU)) {
                Tensor pixels = Ops.slice(input("pixel_values"), 0, 0, 1);
                Tensor queries = m.queryOutputs(m.encodeImage(pixels), Ops.slice(input("qformer_input_ids"), 0, 0, 1),
                        Ops.slice(input("qformer_attention_mask"), 0, 0, 1));
                Tensor embeds = m.inputEmbeddings(new long[][] {ids("input_ids")[0]}, m.project(queries));
                long[][] out = new GreedyDecoder(m.languageModel(), 2, 512)
                        .generate(embeds, Ops.slice(input("attention_mask"), 0, 0, 1), expected.length, null);
                assertThat(out[0]).containsExactly(expected);
            }
        }
    }

    @Test
    void bfloat16StaysCloseToFloat32() {
        float[] f32;
        try (InstructBlip m = InstructBlipLoader.load(hf(), ScalarType.Float, CPU)) {
            f32 = Tensors.toFloats(run(m).logits());
        }
        try (InstructBlip m = InstructBlipLoader.load(hf(), ScalarType.BFloat16, CPU)) {
            float[] bf16 = Tensors.toFloats(run(m).logits());
            assertThat(relativeError(bf16, f32)).isLessThan(2e-2);
        }
    }

    @Test
    void overlayWithUnknownTensorIsRejectedNamingTheKey(@org.junit.jupiter.api.io.TempDir Path dir) {
        Path bad = dir.resolve("bad.safetensors");
        Safetensors.write(bad, java.util.Map.of("Qformer.bert.encoder.layer.9.output.dense.weight",
                RawTensor.ofFloats(new long[] {2, 2}, new float[4])), java.util.Map.of());
        assertThatThrownBy(() -> InstructBlipLoader.load(hf().withOverlay(bad), ScalarType.Float, CPU))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("qformer.encoder.layer.9.output.dense.weight")
                .hasMessageContaining("bad.safetensors");
    }

    @Test
    void misShapedOverlayTensorNamesBothShapes(@org.junit.jupiter.api.io.TempDir Path dir) {
        Path bad = dir.resolve("bad.safetensors");
        Safetensors.write(bad, java.util.Map.of("llm_proj.bias", RawTensor.ofFloats(new long[] {7}, new float[7])),
                java.util.Map.of());
        assertThatThrownBy(() -> InstructBlipLoader.load(hf().withOverlay(bad), ScalarType.Float, CPU))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("language_projection.bias")
                .hasMessageContaining("[7]")
                .hasMessageContaining("[48]");
    }
}
