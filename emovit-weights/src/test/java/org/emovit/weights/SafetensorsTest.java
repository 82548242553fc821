package org.emovit.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path tmp;

    /** Writes a safetensors file with the given header JSON and data bytes, as given (no validation). */
    static Path rawFile(Path file, String headerJson, byte[] data) throws IOException {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    @Test
    void readsTheHuggingFaceFixture() {
        Path f = Fixtures.copy(Fixtures.HF, tmp);
        try (TensorSource s = Safetensors.open(f)) {
            assertThat(s.keys()).hasSize(112).first().isEqualTo("language_model.lm_head.weight");
            assertThat(s.metadata()).containsEntry("format", "pt");
            RawTensor q = s.get("query_tokens");
            assertThat(q.dtype()).isEqualTo(DType.F32);
            assertThat(q.shape()).containsExactly(1, 4, 32);
            assertThat(q.data().isDirect()).as("memory-mapped, not copied").isTrue();
            assertThat(q.data().isReadOnly()).isTrue();
            RawTensor patch = s.get("vision_model.embeddings.patch_embedding.weight");
            assertThat(patch.shape()).containsExactly(32, 3, 14, 14);
            float[] v = patch.toFloatArray();
            assertThat(v).hasSize(32 * 3 * 14 * 14);
            assertThat(s.contains("query_tokens")).isTrue();
            assertThat(s.contains("nope")).isFalse();
            assertThat(s.describe()).contains("model.safetensors");
        }
    }

    @Test
    void readsIntegerCases() {
        Path f = Fixtures.copy(Fixtures.CASES, tmp);
        try (TensorSource s = Safetensors.open(f)) {
            RawTensor ids = s.get("input.input_ids");
            assertThat(ids.dtype()).isEqualTo(DType.I64);
            assertThat(ids.shape()).containsExactly(2, 14);
            long[] v = ids.toLongArray();
            // 4 image placeholders (513), then the prompt starting with BOS (2)
            assertThat(v).startsWith(513, 513, 513, 513, 2);
            assertThat(v[27]).isEqualTo(512); // sample 1 ends with padding
            assertThat(s.get("expected.loss").shape()).containsExactly(1);
            assertThat(s.metadata()).containsKey("generator");
        }
    }

    @Test
    void missingKeyNamesKeyAndFile() {
        Path f = Fixtures.copy(Fixtures.HF, tmp);
        try (TensorSource s = Safetensors.open(f)) {
            assertThatThrownBy(() -> s.get("qformer.encoder.layer.9.output.dense.weight"))
                    .isInstanceOf(WeightsException.class)
                    .hasMessageContaining("qformer.encoder.layer.9.output.dense.weight")
                    .hasMessageContaining(f.toString());
        }
    }

    @Test
    void roundTripF32Bf16I64WithMetadata() throws Exception {
        Map<String, RawTensor> m = new LinkedHashMap<>();
        m.put("z.weight", RawTensor.ofFloats(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, -6.25f}));
        m.put("a.bf16", RawTensor.of(DType.BF16, new long[] {3}, new byte[] {(byte) 0x80, 0x3f, 0x20, (byte) 0xc0, 0, 0}));
        m.put("ids", RawTensor.ofLongs(new long[] {2, 2}, new long[] {1, -2, 3, Long.MIN_VALUE}));
        m.put("empty", RawTensor.ofFloats(new long[] {0, 4}, new float[0]));
        m.put("scalar", RawTensor.ofFloats(new long[0], new float[] {42}));
        Path f = tmp.resolve("sub/out.safetensors");
        java.nio.file.Files.createDirectories(f.getParent());   // the writer no longer creates folders
        Safetensors.write(f, m, Map.of("format", "pt", "note", "round trip"));
        assertThat(f.getParent()).isDirectoryContaining(p -> p.getFileName().toString().equals("out.safetensors"));
        try (var files = java.util.stream.Stream.of(f.getParent().toFile().list())) {
            assertThat(files).as("no temporary file is left").containsExactly("out.safetensors");
        }
        try (TensorSource s = Safetensors.open(f)) {
            assertThat(s.keys()).containsExactly("z.weight", "a.bf16", "ids", "empty", "scalar");
            assertThat(s.metadata()).containsEntry("format", "pt").containsEntry("note", "round trip");
            for (String k : m.keySet()) {
                assertThat(s.get(k)).as(k).isEqualTo(m.get(k));
            }
            assertThat(s.get("a.bf16").toFloatArray()).containsExactly(1f, -2.5f, 0f);
            assertThat(s.get("ids").toLongArray()).containsExactly(1, -2, 3, Long.MIN_VALUE);
        }
        // Header is padded so the data starts 8-byte aligned; overwriting replaces the file.
        Safetensors.write(f, Map.of("x", RawTensor.ofLongs(new long[] {1}, new long[] {7})), null);
        try (TensorSource s = Safetensors.open(f)) {
            assertThat(s.keys()).containsExactly("x");
            assertThat(s.metadata()).isEmpty();
        }
    }

    @Test
    void rewritingAMappedFileInPlaceIsSafe() {
        Path f = tmp.resolve("w.safetensors");
        Safetensors.write(f, Map.of("a", RawTensor.ofFloats(new long[] {2}, new float[] {1, 2})), Map.of());
        try (TensorSource s = Safetensors.open(f)) {
            Map<String, RawTensor> m = new LinkedHashMap<>();
            m.put("a", s.get("a"));
            m.put("b", RawTensor.ofFloats(new long[] {1}, new float[] {3}));
            Safetensors.write(f, m, Map.of());
        }
        try (TensorSource s = Safetensors.open(f)) {
            assertThat(s.get("a").toFloatArray()).containsExactly(1, 2);
            assertThat(s.get("b").toFloatArray()).containsExactly(3);
        }
    }

    @Test
    void shardedIndexFromTwoShards() throws IOException {
        Path hf = Fixtures.copy(Fixtures.HF, tmp);
        Path dir = tmp.resolve("sharded");
        Files.createDirectories(dir);
        Map<String, RawTensor> one = new LinkedHashMap<>();
        Map<String, RawTensor> two = new LinkedHashMap<>();
        StringBuilder wm = new StringBuilder();
        try (TensorSource s = Safetensors.open(hf)) {
            int i = 0;
            for (String k : s.keys()) {
                boolean first = i++ % 2 == 0;
                (first ? one : two).put(k, s.get(k));
                wm.append(wm.length() == 0 ? "" : ",").append('"').append(k).append("\":\"")
                        .append(first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors").append('"');
            }
            Safetensors.write(dir.resolve("model-00001-of-00002.safetensors"), one, Map.of("format", "pt"));
            Safetensors.write(dir.resolve("model-00002-of-00002.safetensors"), two, Map.of("format", "pt"));
            Files.writeString(dir.resolve("model.safetensors.index.json"),
                    "{\"metadata\": {\"total_size\": 722560}, \"weight_map\": {" + wm + "}}");
            try (TensorSource sh = Safetensors.openDir(dir)) {
                assertThat(sh.keys()).containsExactlyElementsOf(s.keys());
                assertThat(((ShardedSource) sh).shardCount()).isEqualTo(2);
                for (String k : s.keys()) {
                    assertThat(sh.get(k)).as(k).isEqualTo(s.get(k));
                }
                assertThat(sh.metadata()).containsEntry("total_size", "722560");
                assertThat(sh.describe()).contains("model.safetensors.index.json", "model-00002-of-00002.safetensors");
                assertThatThrownBy(() -> sh.get("missing.weight")).isInstanceOf(WeightsException.class)
                        .hasMessageContaining("missing.weight").hasMessageContaining("index.json");
            }
        }
        // an index pointing at a tensor the shard does not have
        Files.writeString(dir.resolve("bad.index.json"),
                "{\"weight_map\": {\"ghost\": \"model-00001-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> Safetensors.openIndex(dir.resolve("bad.index.json")))
                .isInstanceOf(WeightsException.class).hasMessageContaining("ghost")
                .hasMessageContaining("model-00001-of-00002.safetensors");
        Files.writeString(dir.resolve("bad2.index.json"), "{\"weight_map\": {\"ghost\": \"nowhere.safetensors\"}}");
        assertThatThrownBy(() -> Safetensors.openIndex(dir.resolve("bad2.index.json")))
                .isInstanceOf(WeightsException.class).hasMessageContaining("nowhere.safetensors");
    }

    @Test
    void openDirFindsSingleFileOrExplains() throws IOException {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        assertThatThrownBy(() -> Safetensors.openDir(dir)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining(dir.toString());
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {1});
        assertThatThrownBy(() -> Safetensors.openDir(dir)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("pytorch_model.bin").hasMessageContaining("TorchCheckpoint");
        Files.copy(Fixtures.copy(Fixtures.VICUNA, tmp), dir.resolve("model.safetensors"));
        try (TensorSource s = Safetensors.openDir(dir)) {
            assertThat(s.keys()).contains("lm_head.weight");
        }
        assertThatThrownBy(() -> Safetensors.openDir(tmp.resolve("absent"))).isInstanceOf(WeightsException.class)
                .hasMessageContaining("absent");
    }

    @Test
    void truncatedFileIsRejected() throws IOException {
        Path f = Fixtures.copy(Fixtures.HF, tmp);
        byte[] all = Files.readAllBytes(f);
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 100));
        assertThatThrownBy(() -> Safetensors.open(cut)).isInstanceOf(WeightsException.class)
                .hasMessageContaining(cut.toString()).hasMessageContaining("vision_model.post_layernorm.weight");
        Path cut2 = tmp.resolve("cut2.safetensors");
        Files.write(cut2, java.util.Arrays.copyOf(all, 1000));
        assertThatThrownBy(() -> Safetensors.open(cut2)).isInstanceOf(WeightsException.class)
                .hasMessageContaining(cut2.toString()).hasMessageContaining("truncated");
        Path tiny = tmp.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> Safetensors.open(tiny)).isInstanceOf(WeightsException.class)
                .hasMessageContaining(tiny.toString());
        assertThatThrownBy(() -> Safetensors.open(tmp.resolve("none.safetensors")))
                .isInstanceOf(WeightsException.class).hasMessageContaining("none.safetensors");
    }

    @Test
    void badHeadersAreRejectedNamingFileAndKey() throws IOException {
        byte[] data = new byte[16];
        Path outOfRange = rawFile(tmp.resolve("oor.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", data);
        assertThatThrownBy(() -> Safetensors.open(outOfRange)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("oor.safetensors").hasMessageContaining("'b'").hasMessageContaining("past the end");

        Path wrongLen = rawFile(tmp.resolve("len.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data);
        assertThatThrownBy(() -> Safetensors.open(wrongLen)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("len.safetensors").hasMessageContaining("'a'").hasMessageContaining("needs 12");

        Path overlap = rawFile(tmp.resolve("ov.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data);
        assertThatThrownBy(() -> Safetensors.open(overlap)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("ov.safetensors").hasMessageContaining("overlap")
                .hasMessageContaining("'a'").hasMessageContaining("'b'");

        Path badType = rawFile(tmp.resolve("t.safetensors"),
                "{\"a\":{\"dtype\":\"F8_E5M2\",\"shape\":[2],\"data_offsets\":[0,2]}}", data);
        assertThatThrownBy(() -> Safetensors.open(badType)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("F8_E5M2").hasMessageContaining("'a'").hasMessageContaining("t.safetensors");

        Path notJson = rawFile(tmp.resolve("j.safetensors"), "{\"a\": nope}", data);
        assertThatThrownBy(() -> Safetensors.open(notJson)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("j.safetensors").hasMessageContaining("JSON")
                .satisfies(e -> assertThat(e.getMessage()).as("one line: Jackson's location lines left out").doesNotContain("\n"));

        Path dup = rawFile(tmp.resolve("d.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data);
        assertThatThrownBy(() -> Safetensors.open(dup)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("d.safetensors");

        // header length larger than the file
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Path hugeHeader = tmp.resolve("h.safetensors");
        Files.write(hugeHeader, b.array());
        assertThatThrownBy(() -> Safetensors.open(hugeHeader)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("h.safetensors").hasMessageContaining("header");
        // nonsense length
        ByteBuffer b2 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).putLong(0);
        Path neg = tmp.resolve("n.safetensors");
        Files.write(neg, b2.array());
        assertThatThrownBy(() -> Safetensors.open(neg)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("n.safetensors").hasMessageContaining("header length");
    }

    @Test
    void pytorchZipGivenToSafetensorsGetsAHint() {
        Path f = Fixtures.copy(Fixtures.EVA, tmp);
        assertThatThrownBy(() -> Safetensors.open(f)).isInstanceOf(WeightsException.class)
                .hasMessageContaining("TorchCheckpoint");
    }

    @Test
    void getAfterCloseFailsButTensorsStayValid() {
        Path f = Fixtures.copy(Fixtures.VICUNA, tmp);
        TensorSource s = Safetensors.open(f);
        RawTensor t = s.get("model.norm.weight");
        float[] before = t.toFloatArray();
        s.close();
        s.close(); // idempotent
        assertThat(t.toFloatArray()).containsExactly(before);
        assertThatThrownBy(() -> s.get("model.norm.weight")).isInstanceOf(WeightsException.class)
                .hasMessageContaining("closed").hasMessageContaining(f.toString());
    }

    @Test
    void mappedRegionsGroupTensorsIntoChunksAtTensorBoundaries() throws IOException {
        Path f = tmp.resolve("bytes.bin");
        byte[] data = new byte[100];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        Files.write(f, data);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            List<long[]> regions = new ArrayList<>(List.of(new long[] {0, 10}, new long[] {10, 10},
                    new long[] {20, 30}, new long[] {50, 40}, new long[] {90, 10}, new long[] {95, 0}));
            MappedRegions m = new MappedRegions(f, ch, regions, 32);
            // [0,20) | [20,50) | [50,90) is over the chunk size: mapped alone | [90,100)
            assertThat(m.chunkCount()).isEqualTo(3);
            assertThat(m.mappingsMade()).as("chunks are mapped lazily").isZero();
            assertThat(m.slice(10, 10, "t").get(0)).isEqualTo((byte) 10);
            assertThat(m.slice(0, 10, "t").get(9)).isEqualTo((byte) 9);
            assertThat(m.mappingsMade()).isEqualTo(1);
            ByteBuffer big = m.slice(50, 40, "big");
            assertThat(big.capacity()).isEqualTo(40);
            assertThat(big.get(39)).isEqualTo((byte) 89);
            assertThat(m.slice(20, 30, "t").get(29)).isEqualTo((byte) 49);
            assertThat(m.slice(90, 10, "t").get(0)).isEqualTo((byte) 90);
            assertThat(m.slice(15, 10, "straddles").get(5)).isEqualTo((byte) 20);
            assertThat(m.slice(95, 0, "empty").capacity()).isZero();
            assertThat(m.slice(0, 4, "t").order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
            assertThat(m.slice(0, 4, "t").getInt(0)).isEqualTo(0x03020100);
            m.close();
            assertThatThrownBy(() -> m.slice(0, 1, "t")).isInstanceOf(WeightsException.class)
                    .hasMessageContaining("closed");
        }
    }

    /**
     * A sparse file over 2 GiB: tensors past the 2 GiB mark read correctly, a 1.5 GiB tensor gets a mapping
     * of its own, and a tensor over 2 GiB is refused with a clear message while the others stay readable.
     */
    @Test
    void filesOver2GiBUseSeveralMappings() throws IOException {
        assumeTrue(tmp.toFile().getUsableSpace() > (8L << 30), "needs free disk space for a sparse file");
        long big = 1536L << 20;          // 1.5 GiB, U8
        long huge = (2L << 30) + 16;     // over 2 GiB, U8
        long o1 = big;                   // small: 4 floats
        long o2 = o1 + 16;               // huge
        long o3 = o2 + huge;             // tail: 2 floats
        long end = o3 + 8;
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + o1 + "]},"
                + "\"small\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[" + o1 + "," + o2 + "]},"
                + "\"huge\":{\"dtype\":\"U8\",\"shape\":[" + huge + "],\"data_offsets\":[" + o2 + "," + o3 + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + o3 + "," + end + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + h.length;
        Path f = tmp.resolve("sparse.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
            raf.write(len.array());
            raf.write(h);
            raf.setLength(dataStart + end);
            ByteBuffer small = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                    .putFloat(1).putFloat(2).putFloat(3).putFloat(4);
            raf.seek(dataStart + o1);
            raf.write(small.array());
            raf.seek(dataStart + o1 - 1);
            raf.write(77); // last byte of "big"
            ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(-1).putFloat(0.5f);
            raf.seek(dataStart + o3);
            raf.write(tail.array());
        }
        try (TensorSource s = Safetensors.open(f)) {
            MappedRegions regions = ((SafetensorsFile) s).regions();
            assertThat(regions.chunkCount()).as("small and tail are more than 1 GiB apart").isEqualTo(2);
            assertThat(s.get("small").toFloatArray()).containsExactly(1, 2, 3, 4);
            assertThat(s.get("tail").toFloatArray()).containsExactly(-1, 0.5f);
            RawTensor b = s.get("big");
            assertThat(b.nbytes()).isEqualTo(big);
            assertThat(b.data().get((int) big - 1)).isEqualTo((byte) 77);
            assertThatThrownBy(() -> s.get("huge")).isInstanceOf(WeightsException.class)
                    .hasMessageContaining("'huge'").hasMessageContaining("2 GiB").hasMessageContaining("sparse.safetensors");
            assertThat(s.get("small").toFloatArray()).containsExactly(1, 2, 3, 4);
        }
    }
}
