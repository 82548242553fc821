package org.emovit.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.emovit.weights.TorchZipBuilder.Pickle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointTest {
    @TempDir
    Path tmp;

    // ---- LAVIS -> Hugging Face key mapping, as far as the tests need it ----

    private static final Pattern EVA_BLOCK = Pattern.compile("blocks\\.(\\d+)\\.(.*)");
    private static final Pattern QF_SELF = Pattern.compile(
            "Qformer\\.bert\\.encoder\\.layer\\.(\\d+)\\.(attention|crossattention)\\.self\\.(.*)");

    /** HF InstructBLIP key for a LAVIS EVA-ViT key (q_bias / v_bias have none: they are parts of qkv.bias). */
    static String evaToHf(String k) {
        String p = "vision_model.";
        switch (k) {
            case "cls_token":
                return p + "embeddings.class_embedding";
            case "pos_embed":
                return p + "embeddings.position_embedding";
            default:
                break;
        }
        if (k.startsWith("patch_embed.proj.")) {
            return p + "embeddings.patch_embedding." + k.substring("patch_embed.proj.".length());
        }
        Matcher m = EVA_BLOCK.matcher(k);
        if (!m.matches()) {
            throw new AssertionError("unmapped EVA key " + k);
        }
        String rest = m.group(2)
                .replace("attn.proj.", "self_attn.projection.")
                .replace("attn.qkv.", "self_attn.qkv.")
                .replace("norm1.", "layer_norm1.")
                .replace("norm2.", "layer_norm2.");
        return p + "encoder.layers." + m.group(1) + "." + rest;
    }

    /** HF InstructBLIP key for a LAVIS InstructBLIP key. */
    static String lavisToHf(String k) {
        if (k.equals("query_tokens")) {
            return k;
        }
        if (k.startsWith("llm_proj.")) {
            return "language_projection." + k.substring("llm_proj.".length());
        }
        if (k.startsWith("ln_vision.")) {
            return "vision_model.post_layernorm." + k.substring("ln_vision.".length());
        }
        Matcher m = QF_SELF.matcher(k);
        if (m.matches()) {
            return "qformer.encoder.layer." + m.group(1) + "." + m.group(2) + ".attention." + m.group(3);
        }
        if (k.startsWith("Qformer.bert.embeddings.LayerNorm.")) {
            return "qformer.embeddings.layernorm." + k.substring("Qformer.bert.embeddings.LayerNorm.".length());
        }
        if (k.startsWith("Qformer.bert.")) {
            return "qformer." + k.substring("Qformer.bert.".length());
        }
        throw new AssertionError("unmapped LAVIS key " + k);
    }

    private static RawTensor slice1d(RawTensor t, int from, int to) {
        float[] v = Arrays.copyOfRange(t.toFloatArray(), from, to);
        return RawTensor.ofFloats(new long[] {to - from}, v);
    }

    @Test
    void evaVitMatchesHuggingFaceBitExact() {
        Path pth = Fixtures.copy(Fixtures.EVA, tmp);
        Path hf = Fixtures.copy(Fixtures.HF, tmp);
        try (TensorSource eva = TorchCheckpoint.open(pth); TensorSource h = Safetensors.open(hf)) {
            assertThat(eva.keys()).hasSize(30).startsWith("cls_token", "pos_embed", "patch_embed.proj.weight");
            Set<String> covered = new HashSet<>();
            for (String k : eva.keys()) {
                RawTensor t = eva.get(k);
                assertThat(t.data().isDirect()).as("memory-mapped: " + k).isTrue();
                if (k.endsWith("attn.q_bias") || k.endsWith("attn.v_bias")) {
                    String layer = k.substring("blocks.".length(), k.indexOf(".attn"));
                    String qkvKey = "vision_model.encoder.layers." + layer + ".self_attn.qkv.bias";
                    RawTensor qkv = h.get(qkvKey);
                    int w = (int) t.numel();
                    int from = k.endsWith("q_bias") ? 0 : 2 * w;
                    assertThat(t).as(k).isEqualTo(slice1d(qkv, from, from + w));
                    // (the HF fixture's middle, key third is not zero; a key bias does not change attention)
                    covered.add(qkvKey);
                    continue;
                }
                String hk = evaToHf(k);
                assertThat(h.contains(hk)).as(k + " -> " + hk).isTrue();
                RawTensor expected = h.get(hk);
                assertThat(t.dtype()).isEqualTo(expected.dtype());
                assertThat(t.shape()).as(k).containsExactly(expected.shape());
                assertThat(t).as(k + " == " + hk).isEqualTo(expected);
                covered.add(hk);
            }
            // EVA `blocks.0.attn.qkv.weight` is HF `vision_model.encoder.layers.0.self_attn.qkv.weight`
            assertThat(eva.get("blocks.0.attn.qkv.weight"))
                    .isEqualTo(h.get("vision_model.encoder.layers.0.self_attn.qkv.weight"));
            List<String> hfVision = new ArrayList<>();
            for (String k : h.keys()) {
                if (k.startsWith("vision_model.") && !k.startsWith("vision_model.post_layernorm")) {
                    hfVision.add(k);
                }
            }
            assertThat(covered).containsExactlyInAnyOrderElementsOf(hfVision);
        }
    }

    @Test
    void instructBlipCheckpointMatchesHuggingFaceBitExact() {
        Path pth = Fixtures.copy(Fixtures.TRIMMED, tmp);
        Path hf = Fixtures.copy(Fixtures.HF, tmp);
        try (TensorSource lavis = TorchCheckpoint.open(pth); TensorSource h = Safetensors.open(hf)) {
            assertThat(lavis.keys()).as("the state dict under \"model\"").hasSize(63)
                    .startsWith("query_tokens", "ln_vision.weight").endsWith("llm_proj.weight", "llm_proj.bias");
            Set<String> covered = new HashSet<>();
            for (String k : lavis.keys()) {
                String hk = lavisToHf(k);
                assertThat(h.contains(hk)).as(k + " -> " + hk).isTrue();
                assertThat(lavis.get(k)).as(k + " == " + hk).isEqualTo(h.get(hk));
                covered.add(hk);
            }
            assertThat(lavis.get("Qformer.bert.encoder.layer.0.attention.self.query.weight"))
                    .isEqualTo(h.get("qformer.encoder.layer.0.attention.attention.query.weight"));
            assertThat(lavis.get("llm_proj.weight")).isEqualTo(h.get("language_projection.weight"));
            for (String k : h.keys()) {
                if (k.startsWith("qformer.") || k.startsWith("language_projection.") || k.equals("query_tokens")) {
                    assertThat(covered).as("HF key covered").contains(k);
                }
            }
        }
    }

    @Test
    void emovitOverlayLoadsModelAndIgnoresOptimizer() {
        Path overlayPath = Fixtures.copy(Fixtures.OVERLAY, tmp);
        Path basePath = Fixtures.copy(Fixtures.TRIMMED, tmp);
        try (TensorSource overlay = TorchCheckpoint.open(overlayPath); TensorSource base = TorchCheckpoint.open(basePath)) {
            List<String> expectedKeys = new ArrayList<>(base.keys());
            expectedKeys.removeIf(k -> k.startsWith("ln_vision."));
            assertThat(overlay.keys()).containsExactlyElementsOf(expectedKeys);
            int differing = 0;
            for (String k : overlay.keys()) {
                RawTensor o = overlay.get(k);
                RawTensor b = base.get(k);
                assertThat(o.shape()).as(k).containsExactly(b.shape());
                assertThat(o.dtype()).isEqualTo(DType.F32);
                if (!o.equals(b)) {
                    differing++;
                }
            }
            assertThat(differing).as("tuned tensors differ from the base").isPositive();
            assertThat(overlay.contains("optimizer")).isFalse();
            assertThat(overlay.contains("epoch")).isFalse();
        }
    }

    @Test
    void vicunaSafetensorsMatchesTheHfLanguageModel() {
        Path v = Fixtures.copy(Fixtures.VICUNA, tmp);
        Path hf = Fixtures.copy(Fixtures.HF, tmp);
        try (TensorSource vic = Safetensors.open(v); TensorSource h = Safetensors.open(hf)) {
            assertThat(vic.keys()).hasSize(21);
            for (String k : vic.keys()) {
                assertThat(vic.get(k)).as(k).isEqualTo(h.get("language_model." + k));
            }
        }
    }

    @Test
    void compressedEntriesAreInflatedIntoMemory() throws IOException {
        Path pth = Fixtures.copy(Fixtures.TRIMMED, tmp);
        Path packed = TorchZipBuilder.repack(pth, tmp.resolve("deflated.pth"), true);
        Path stored = TorchZipBuilder.repack(pth, tmp.resolve("restored.pth"), false);
        try (TensorSource a = TorchCheckpoint.open(pth); TensorSource b = TorchCheckpoint.open(packed);
                TensorSource c = TorchCheckpoint.open(stored)) {
            assertThat(b.keys()).containsExactlyElementsOf(a.keys());
            assertThat(c.keys()).containsExactlyElementsOf(a.keys());
            for (String k : a.keys()) {
                assertThat(b.get(k)).as(k).isEqualTo(a.get(k));
                assertThat(c.get(k)).as(k).isEqualTo(a.get(k));
            }
            assertThat(b.get("query_tokens").data().isDirect()).isFalse();
            assertThat(c.get("query_tokens").data().isDirect()).isTrue();
        }
    }

    @Test
    void missingKeyNamesKeyAndFile() {
        Path pth = Fixtures.copy(Fixtures.EVA, tmp);
        try (TensorSource s = TorchCheckpoint.open(pth)) {
            assertThatThrownBy(() -> s.get("blocks.7.attn.qkv.weight")).isInstanceOf(WeightsException.class)
                    .hasMessageContaining("blocks.7.attn.qkv.weight").hasMessageContaining(pth.toString());
            assertThat(s.metadata()).isEmpty();
        }
    }

    // ---- format errors ----

    @Test
    void legacyFormatIsExplained() throws IOException {
        byte[] legacy = {
            (byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a,
            (byte) 0xa8, 0x50, 0x19, 0x2e, (byte) 0x80, 0x02, 0x4d, (byte) 0xe9, 0x03, 0x2e
        };
        Path f = tmp.resolve("old.pth");
        Files.write(f, legacy);
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("old.pth").hasMessageContaining("legacy")
                .hasMessageContaining("_use_new_zipfile_serialization=True");
        Path bare = tmp.resolve("bare.pth");
        Files.write(bare, new Pickle().proto(2).emptyDict().stop().bytes());
        assertThatThrownBy(() -> TorchCheckpoint.open(bare)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("bare.pth").hasMessageContaining("legacy")
                .hasMessageContaining("_use_new_zipfile_serialization=True");
    }

    @Test
    void truncatedOrCorruptZipIsRejected() throws IOException {
        Path pth = Fixtures.copy(Fixtures.TRIMMED, tmp);
        byte[] all = Files.readAllBytes(pth);
        Path half = tmp.resolve("half.pth");
        Files.write(half, Arrays.copyOf(all, all.length / 2));
        assertThatThrownBy(() -> TorchCheckpoint.open(half)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("half.pth").hasMessageContaining("truncated or corrupt");
        Path tail = tmp.resolve("tail.pth");
        Files.write(tail, Arrays.copyOf(all, all.length - 7));
        assertThatThrownBy(() -> TorchCheckpoint.open(tail)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("tail.pth");
        // a damaged local file header
        byte[] bad = all.clone();
        int seen = 0;
        for (int i = 0; i + 4 < bad.length; i++) {
            if (bad[i] == 'P' && bad[i + 1] == 'K' && bad[i + 2] == 3 && bad[i + 3] == 4 && ++seen == 6) {
                bad[i + 2] = 9;
                break;
            }
        }
        Path corrupt = tmp.resolve("corrupt.pth");
        Files.write(corrupt, bad);
        assertThatThrownBy(() -> TorchCheckpoint.open(corrupt)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("corrupt.pth").hasMessageContaining("local file header");
        Path text = tmp.resolve("notes.pth");
        Files.writeString(text, "hello, this is not a checkpoint");
        assertThatThrownBy(() -> TorchCheckpoint.open(text)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("notes.pth").hasMessageContaining("not a PyTorch zip checkpoint");
        Path empty = tmp.resolve("empty.pth");
        Files.write(empty, new byte[0]);
        assertThatThrownBy(() -> TorchCheckpoint.open(empty)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("empty.pth");
        assertThatThrownBy(() -> TorchCheckpoint.open(tmp.resolve("absent.pth"))).isInstanceOf(WeightsException.class)
                .hasMessageContaining("absent.pth");
    }

    @Test
    void safetensorsGivenToTorchCheckpointGetsAHint() {
        Path f = Fixtures.copy(Fixtures.VICUNA, tmp);
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("Safetensors.open");
    }

    @Test
    void zipWithoutDataPklIsNotACheckpoint() throws IOException {
        Path f = new TorchZipBuilder("x").entry("readme.txt", new byte[] {1, 2}).write(tmp.resolve("plain.zip"), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("plain.zip").hasMessageContaining("data.pkl");
    }

    // ---- a hand-made checkpoint covering views, dtypes, parameters and foreign objects ----

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private static byte[] longs(long... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    private static long[] s(long... v) {
        return v;
    }

    private static Pickle handMadePickle() {
        Pickle p = new Pickle().proto(2).emptyDict().mark();
        p.str("state_dict").orderedDict().mark();
        p.str("w").tensorV2("FloatStorage", "0", 6, 0, s(2, 3), s(3, 1));
        p.str("wt").tensorV2("FloatStorage", "0", 6, 0, s(3, 2), s(1, 3));
        p.str("tail").tensorV2("FloatStorage", "0", 6, 2, s(4), s(1));
        p.str("every_other").tensorV2("FloatStorage", "0", 6, 1, s(3), s(2));
        p.str("expanded").tensorV2("FloatStorage", "1", 1, 0, s(2, 2), s(0, 0));
        p.str("scalar").tensorV2("FloatStorage", "1", 1, 0, s(), s());
        p.str("bf").tensorV3("bfloat16", "2", 4, 0, s(2), s(1));
        p.str("param").global("torch._utils", "_rebuild_parameter").mark()
                .tensorV2("LongStorage", "3", 3, 0, s(3), s(1)).bool(true).orderedDict().tuple().reduce();
        p.str("half").tensorV2("HalfStorage", "4", 2, 0, s(2), s(1));
        p.str("empty").tensorV2("FloatStorage", "0", 6, 0, s(0, 3), s(3, 1));
        p.str("steps").integer(5); // not a tensor: left out
        p.setitems();
        // model.state_dict() is an OrderedDict with a _metadata attribute, set by BUILD
        p.emptyDict().str("_metadata").orderedDict().setitem().build();
        // optimizer state referring to a storage that is not even in the archive: never resolved
        p.str("optimizer").emptyDict().str("state").emptyDict().integer(0).emptyDict()
                .str("exp_avg").tensorV2("FloatStorage", "99", 6, 0, s(6), s(1))
                .setitem().setitem().setitem();
        // an OmegaConf-like config: NEWOBJ + BUILD of an unknown class
        p.str("config").global("omegaconf.dictconfig", "DictConfig").emptyTuple().newobj()
                .emptyDict().str("_content").emptyDict().setitem().build();
        // a numpy scalar: unknown globals called with arguments, BUILD with a tuple state
        p.str("np").global("numpy.core.multiarray", "scalar")
                .mark().global("numpy", "dtype").mark().str("f8").bool(false).bool(true).tuple().reduce()
                .mark().integer(3).str("<").none().none().none().integer(-1).integer(-1).integer(0).tuple().build()
                .str("\u0000\u0000").tuple().reduce();
        p.str("device").stackGlobal("torch", "device").mark().str("cuda").integer(0).tuple().reduce();
        p.str("lr").floatValue(1e-5);
        p.str("epoch").integer(3);
        p.setitems().stop();
        return p;
    }

    private static TorchZipBuilder handMade(Pickle p) {
        return new TorchZipBuilder("archive").pickle(p).byteorder("little")
                .storage("0", floats(0, 1, 2, 3, 4, 5))
                .storage("1", floats(7))
                .storage("2", new byte[] {(byte) 0x80, 0x3f, 0x20, (byte) 0xc0})
                .storage("3", longs(10, 20, 30))
                .storage("4", new byte[] {0x00, 0x3c, 0x00, (byte) 0xc0});
    }

    @Test
    void handMadeCheckpointViewsDtypesAndForeignObjects() throws IOException {
        for (boolean compress : new boolean[] {false, true}) {
            Path f = handMade(handMadePickle()).write(tmp.resolve("hand" + compress + ".pth"), compress);
            try (TensorSource s = TorchCheckpoint.open(f)) {
                assertThat(s.keys()).containsExactly("w", "wt", "tail", "every_other", "expanded", "scalar", "bf",
                        "param", "half", "empty");
                RawTensor w = s.get("w");
                assertThat(w.shape()).containsExactly(2, 3);
                assertThat(w.toFloatArray()).containsExactly(0, 1, 2, 3, 4, 5);
                RawTensor wt = s.get("wt");
                assertThat(wt.shape()).containsExactly(3, 2);
                assertThat(wt.toFloatArray()).as("transpose materialised").containsExactly(0, 3, 1, 4, 2, 5);
                assertThat(wt.data().isDirect()).isFalse();
                RawTensor tail = s.get("tail");
                assertThat(tail.toFloatArray()).as("storage offset").containsExactly(2, 3, 4, 5);
                assertThat(tail.data().isDirect()).as("offset views are slices, not copies").isEqualTo(!compress);
                assertThat(s.get("every_other").toFloatArray()).containsExactly(1, 3, 5);
                assertThat(s.get("expanded").toFloatArray()).containsExactly(7, 7, 7, 7);
                RawTensor scalar = s.get("scalar");
                assertThat(scalar.shape()).isEmpty();
                assertThat(scalar.toFloatArray()).containsExactly(7);
                RawTensor bf = s.get("bf");
                assertThat(bf.dtype()).isEqualTo(DType.BF16);
                assertThat(bf.toFloatArray()).containsExactly(1f, -2.5f);
                RawTensor param = s.get("param");
                assertThat(param.dtype()).isEqualTo(DType.I64);
                assertThat(param.toLongArray()).containsExactly(10, 20, 30);
                RawTensor half = s.get("half");
                assertThat(half.dtype()).isEqualTo(DType.F16);
                assertThat(half.toFloatArray()).containsExactly(1f, -2f);
                assertThat(s.get("empty").shape()).containsExactly(0, 3);
                assertThat(s.get("empty").numel()).isZero();
            }
        }
    }

    @Test
    void plainStateDictAtTopLevel() throws IOException {
        Pickle p = new Pickle().proto(2).emptyDict().mark();
        p.str("a").tensorV2("FloatStorage", "0", 6, 3, s(3), s(1));
        p.str("b").tensorV2("LongStorage", "3", 3, 0, s(3), s(1));
        p.setitems().stop();
        Path f = handMade(p).write(tmp.resolve("plain.pth"), false);
        try (TensorSource s = TorchCheckpoint.open(f)) {
            assertThat(s.keys()).containsExactly("a", "b");
            assertThat(s.get("a").toFloatArray()).containsExactly(3, 4, 5);
        }
    }

    private Path single(String name, Consumer<Pickle> tensor) throws IOException {
        Pickle p = new Pickle().proto(2).emptyDict().mark().str("model").emptyDict().mark();
        tensor.accept(p);
        p.setitems().str("epoch").integer(1).setitems().stop();
        return handMade(p).write(tmp.resolve(name), false);
    }

    @Test
    void badTensorsAreReportedWithKeyAndFile() throws IOException {
        Path missing = single("missing.pth", p -> p.str("lost.weight").tensorV2("FloatStorage", "42", 4, 0, s(4), s(1)));
        assertThatThrownBy(() -> TorchCheckpoint.open(missing)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("'lost.weight'").hasMessageContaining("missing.pth")
                .hasMessageContaining("missing from the archive");

        Path beyond = single("beyond.pth", p -> p.str("big.weight").tensorV2("FloatStorage", "0", 6, 4, s(4), s(1)));
        assertThatThrownBy(() -> TorchCheckpoint.open(beyond)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("'big.weight'").hasMessageContaining("beyond.pth");

        Path f8 = single("f8.pth", p -> p.str("q.weight").tensorV3("float8_e4m3fn", "2", 4, 0, s(4), s(1)));
        assertThatThrownBy(() -> TorchCheckpoint.open(f8)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("'q.weight'").hasMessageContaining("float8_e4m3fn").hasMessageContaining("f8.pth");

        Path complex = single("c.pth", p -> p.str("c").tensorV2("ComplexFloatStorage", "0", 3, 0, s(3), s(1)));
        assertThatThrownBy(() -> TorchCheckpoint.open(complex)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("'c'").hasMessageContaining("ComplexFloatStorage");

        Path q = single("q.pth", p -> p.str("qt").global("torch._utils", "_rebuild_qtensor").mark().integer(1).tuple().reduce());
        assertThatThrownBy(() -> TorchCheckpoint.open(q)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("'qt'").hasMessageContaining("_rebuild_qtensor");

        Path none = single("none.pth", p -> p.str("x").integer(1));
        assertThatThrownBy(() -> TorchCheckpoint.open(none)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("none.pth").hasMessageContaining("no tensors");
    }

    @Test
    void bigEndianCheckpointIsRejected() throws IOException {
        Pickle p = new Pickle().proto(2).emptyDict().mark();
        p.str("a").tensorV2("FloatStorage", "0", 6, 0, s(6), s(1));
        p.setitems().stop();
        Path f = handMade(p).byteorder("big").write(tmp.resolve("be.pth"), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("be.pth").hasMessageContaining("big");
    }

    @Test
    void corruptPickleNamesTheFile() throws IOException {
        Pickle p = new Pickle().proto(2).emptyDict().mark().str("a"); // no STOP, unbalanced
        Path f = handMade(p).write(tmp.resolve("cut.pth"), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("cut.pth").hasMessageContaining("data.pkl");
    }

    @Test
    void aLengthPastThePicklesEndIsRefusedBeforeItIsAllocated() throws IOException {
        // BINUNICODE claiming 2 GB in a pickle of a few bytes: the base unpickler allocated it first (OutOfMemoryError)
        Pickle p = new Pickle().proto(2).emptyDict().mark().op('X', 0xf0, 0xff, 0xff, 0x7f).op('a', 'b');
        Path f = handMade(p).write(tmp.resolve("long.pth"), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("long.pth").hasMessageContaining("claims 2147483632 bytes")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void getAfterCloseFails() {
        Path pth = Fixtures.copy(Fixtures.EVA, tmp);
        TensorSource s = TorchCheckpoint.open(pth);
        RawTensor t = s.get("cls_token");
        s.close();
        assertThat(t.numel()).isEqualTo(32);
        assertThat(t.toFloatArray()).hasSize(32);
        assertThatThrownBy(() -> s.get("cls_token")).isInstanceOf(WeightsException.class).hasMessageContaining("closed");
    }
}
