package org.emovit.devtools.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The container read back by the tests' own reader: header, every KV, tensor infos, aligned offsets, the bytes. */
class GgufWriterTest {
    @TempDir
    Path dir;

    @Test
    void headerKvsTensorInfosAndDataReadBack() throws IOException {
        Path file = dir.resolve("t.gguf");
        float[] v = {1.5f, -2f, 3.25f};                      // 12 bytes: the next tensor needs 20 bytes of padding
        float[] m = new float[64 * 3];
        for (int i = 0; i < m.length; i++) {
            m[i] = (i % 17 - 8) * 0.01f;
        }
        try (GgufWriter w = new GgufWriter(file)) {
            w.putString("general.architecture", "llama");
            w.putUint32("llama.block_count", 0xfffffffeL);   // above 2^31: unsigned on the wire
            w.putFloat32("eps", 1e-6f);
            w.putBool("yes", true);
            w.putBool("no", false);
            w.putStrings("tokens", List.of("a", "\u2581b", ""));
            w.putFloat32s("scores", new float[] {0f, -1.5f});
            w.putInt32s("types", new int[] {1, -6});
            w.addTensor("vec", GgmlType.F32, 3);
            w.addTensor("q8", GgmlType.Q8_0, 64, 3);
            w.addTensor("q4", GgmlType.Q4_0, 64, 3);
            w.addTensor("h", GgmlType.F16, 64, 3);
            for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.F16}) {
                float[] x = t == GgmlType.F32 ? v : m;
                ByteBuffer b = ByteBuffer.allocate((int) t.bytes(x.length)).order(ByteOrder.LITTLE_ENDIAN);
                t.encode(x, 0, x.length, b);
                b.flip();
                // in two writes, to see that a tensor may arrive in pieces
                ByteBuffer first = b.slice(0, b.limit() / 2), rest = b.slice(b.limit() / 2, b.limit() - b.limit() / 2);
                w.write(first);
                w.write(rest);
            }
            assertThat(w.fileBytes()).isGreaterThan(0);
        }

        GgufFile g = new GgufFile(file);
        assertThat(g.version).isEqualTo(3);
        assertThat(g.kv).containsExactly(
                entry("general.architecture", "llama"), entry("llama.block_count", 0xfffffffeL), entry("eps", 1e-6f),
                entry("yes", true), entry("no", false), entry("tokens", List.of("a", "\u2581b", "")),
                entry("scores", List.of(0f, -1.5f)), entry("types", List.of(1, -6)));
        assertThat(g.tensors.keySet()).containsExactly("vec", "q8", "q4", "h");
        assertThat(g.tensors.get("vec").ne()).containsExactly(3);
        assertThat(g.tensors.get("q8").ne()).containsExactly(64, 3);
        assertThat(g.tensors.values()).extracting(GgufFile.Info::type).containsExactly(0, 8, 2, 1);
        assertThat(g.dataStart % 32).isZero();
        long end = 0;
        for (GgufFile.Info t : g.tensors.values()) {
            assertThat(t.offset() % 32).as(t.name()).isZero();
            assertThat(t.offset()).as(t.name() + " after the previous").isGreaterThanOrEqualTo(end);
            end = t.offset() + GgufFile.dataBytes(t);
        }
        assertThat(g.fileSize).isEqualTo(g.dataStart + (end + 31) / 32 * 32);
        assertThat(g.values("vec")).containsExactly(v);
        assertThat(g.values("q8")).containsExactly(m, offset(0.08f / 127));
        assertThat(g.values("q4")).containsExactly(m, offset(0.0101f));
        assertThat(g.values("h")).containsExactly(m, offset(0.08f / 2048));
    }

    @Test
    void misuseIsOneClearError() throws IOException {
        Path file = dir.resolve("bad.gguf");
        assertThatThrownBy(() -> new GgufWriter(file).addTensor("odd", GgmlType.Q4_0, 48, 2))
                .hasMessage("tensor odd: a Q4_0 row holds whole blocks of 32, not 48 values");
        GgufWriter dup = new GgufWriter(file);
        dup.putUint32("k", 1);
        assertThatThrownBy(() -> dup.putUint32("k", 2)).hasMessage("metadata key k given twice");

        GgufWriter w = new GgufWriter(file);
        w.addTensor("a", GgmlType.F32, 4);
        w.addTensor("b", GgmlType.F32, 4);
        assertThatThrownBy(() -> w.write(ByteBuffer.allocate(20))).hasMessageContaining("tensor a holds 16 bytes, 20 written");
        w.write(ByteBuffer.allocate(16));
        assertThatThrownBy(() -> w.putString("late", "x")).hasMessageContaining("before any tensor data");
        w.write(ByteBuffer.allocate(8));
        assertThatThrownBy(w::close).isInstanceOf(IOException.class)
                .hasMessageContaining("tensor b has 8 of its 16 bytes (1 tensors incomplete)");
        assertThat(Files.exists(file)).isTrue();
    }

    private static Map.Entry<String, Object> entry(String k, Object v) {
        return Map.entry(k, v);
    }
}
