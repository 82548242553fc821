package org.emovit.devtools.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny random LLaMA in every type: what llama.cpp's loader reads, and the same weights in each file. */
class GgufRandomLlamaTest {
    static final LlamaShape TINY = new LlamaShape(2, 64, 96, 4, 320, 128);

    @TempDir
    Path dir;

    static Path write(Path dir, GgmlType type, int threads) throws IOException {
        Path file = dir.resolve("tiny-" + type + "-" + threads + ".gguf");
        List<String> log = new ArrayList<>();
        new RandomLlamaGguf(TINY, type, 1234, 0.02f).write(file, threads, log::add);
        return file;
    }

    @Test
    @SuppressWarnings("unchecked")
    void metadataAndTensorsAreWhatLlamaCppsLoaderReads() throws IOException {
        GgufFile g = new GgufFile(write(dir, GgmlType.Q8_0, 2));
        assertThat(g.kv).containsEntry("general.architecture", "llama")
                .containsEntry("llama.block_count", 2L).containsEntry("llama.embedding_length", 64L)
                .containsEntry("llama.feed_forward_length", 96L).containsEntry("llama.attention.head_count", 4L)
                .containsEntry("llama.attention.head_count_kv", 4L).containsEntry("llama.rope.dimension_count", 16L)
                .containsEntry("llama.context_length", 128L).containsEntry("llama.vocab_size", 320L)
                .containsEntry("general.file_type", 7L).containsEntry("tokenizer.ggml.model", "llama")
                .containsEntry("tokenizer.ggml.bos_token_id", 1L).containsEntry("tokenizer.ggml.add_bos_token", true);
        assertThat((List<Object>) g.kv.get("tokenizer.ggml.tokens")).hasSize(320).startsWith("<unk>", "<s>", "</s>", "<0x00>")
                .doesNotHaveDuplicates();
        assertThat((List<Object>) g.kv.get("tokenizer.ggml.scores")).hasSize(320);
        assertThat((List<Object>) g.kv.get("tokenizer.ggml.token_type")).hasSize(320).startsWith(2, 3, 3, 6);

        assertThat(g.tensors).hasSize(2 + 2 * 9 + 1);
        assertThat(g.tensors.get("token_embd.weight").ne()).containsExactly(64, 320);
        assertThat(g.tensors.get("blk.1.ffn_gate.weight").ne()).containsExactly(64, 96);
        assertThat(g.tensors.get("blk.1.ffn_down.weight").ne()).containsExactly(96, 64);
        assertThat(g.tensors.get("blk.0.attn_norm.weight").ne()).containsExactly(64);
        assertThat(g.tensors.get("blk.0.attn_norm.weight").type()).isZero();        // norms stay F32
        assertThat(g.tensors.get("output.weight").type()).isEqualTo(8);
        assertThat(g.values("output_norm.weight")).containsOnly(1f);
        assertThat(g.tensors.values()).allSatisfy(t -> assertThat(t.offset() % 32).isZero());
    }

    @Test
    void everyTypeHoldsTheSameWeightsWithinItsErrorAndThreadsDoNotChangeTheFile() throws IOException {
        Path f32 = write(dir, GgmlType.F32, 1);
        assertThat(Files.readAllBytes(write(dir, GgmlType.F32, 3))).isEqualTo(Files.readAllBytes(f32));
        GgufFile exact = new GgufFile(f32);

        // N(0, 0.02) over all matrices, and no two tensors alike (each has its own generator)
        double sum = 0, sq = 0;
        long n = 0;
        for (GgufFile.Info t : exact.tensors.values()) {
            if (t.ne().length == 2) {
                for (float v : exact.values(t.name())) {
                    sum += v;
                    sq += v * v;
                    n++;
                }
            }
        }
        assertThat(sum / n).isCloseTo(0, offset(0.02 * 5 / Math.sqrt(n)));
        assertThat(Math.sqrt(sq / n)).isCloseTo(0.02, offset(0.0005));
        float[] q = exact.values("blk.0.attn_q.weight"), k = exact.values("blk.0.attn_k.weight");
        assertThat(q).isNotEqualTo(k);

        for (GgmlType type : new GgmlType[] {GgmlType.F16, GgmlType.Q4_0, GgmlType.Q8_0}) {
            GgufFile g = new GgufFile(write(dir, type, 2));
            double err = 0, ref = 0;
            for (GgufFile.Info t : exact.tensors.values()) {
                if (t.ne().length == 1) {
                    assertThat(g.values(t.name())).as(t.name()).containsOnly(1f);
                    continue;
                }
                float[] a = exact.values(t.name()), b = g.values(t.name());
                assertThat(b).hasSameSizeAs(a);
                for (int i = 0; i < a.length; i++) {
                    err += (a[i] - b[i]) * (a[i] - b[i]);
                    ref += a[i] * a[i];
                }
            }
            double rel = Math.sqrt(err / ref);
            // rms error relative to the weights: fp16 rounds at 2^-11 relative (about 3e-4 rms); Q8_0 and Q4_0 round
            // uniformly on steps of max/127 and max/8 per block of 32 (about 0.5% and 8%, as in GgufBlocksTest)
            double expected = switch (type) {
                case F16 -> 3e-4;
                case Q8_0 -> 0.005;
                case Q4_0 -> 0.08;
                case F32 -> 0;
            };
            assertThat(rel).as(type + " against F32").isBetween(expected / 3, expected * 1.6);
        }
    }

    @Test
    void sizesThatCannotBeWrittenAreRefused() {
        assertThatThrownBy(() -> new RandomLlamaGguf(new LlamaShape(1, 64, 100, 4, 320, 128), GgmlType.Q4_0, 1, 0.02f))
                .hasMessage("Q4_0 needs rows that are multiples of 32 values; blk.0.ffn_down.weight has rows of 100");
        assertThatThrownBy(() -> new RandomLlamaGguf(new LlamaShape(1, 64, 96, 4, 100, 128), GgmlType.F16, 1, 0.02f))
                .hasMessageContaining("too small (at least 311)");
        assertThatThrownBy(() -> new LlamaShape(1, 64, 96, 5, 320, 128)).hasMessageContaining("not a multiple of the 5 heads");
    }
}
