package org.emovit.devtools.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * A LLaMA model of random weights as a GGUF file llama.cpp loads: matrices N(0, std²) in the chosen type, RMSNorm
 * weights 1 in F32, the metadata llama.cpp's loader reads, and a {@link SyntheticVocab}. The tensors are made and
 * encoded in chunks of rows on {@code threads} workers and written in order, so memory stays at a few chunks
 * whatever the model's size. Each chunk's values come from its own generator seeded by (seed, tensor, chunk):
 * the same model in every type and with any number of threads, so files of different types can be compared.
 */
public final class RandomLlamaGguf {
    /** Values per chunk (1M floats, 4 MB): large enough to amortise a task, small enough to keep memory flat. */
    private static final int CHUNK_VALUES = 1 << 20;

    private final LlamaShape shape;
    private final GgmlType type;
    private final long seed;
    private final float std;

    /** One tensor: ne[0] values per row, rows rows; a matrix takes the file's type, a vector stays F32. */
    record Tensor(String name, int rowLength, int rows, boolean matrix) {}

    public RandomLlamaGguf(LlamaShape shape, GgmlType type, long seed, float std) {
        this.shape = shape;
        this.type = type;
        this.seed = seed;
        this.std = std;
        for (Tensor t : tensors()) {
            if (t.matrix() && t.rowLength() % type.blockElements != 0) {
                throw new IllegalArgumentException(type + " needs rows that are multiples of " + type.blockElements
                        + " values; " + t.name() + " has rows of " + t.rowLength());
            }
        }
        SyntheticVocab.of(shape.vocab());   // fails early on a vocabulary too small to hold the specials and bytes
    }

    /** llama.cpp's tensor names for the LLaMA architecture, in the order of the file. */
    List<Tensor> tensors() {
        int h = shape.hidden(), ff = shape.ffn();
        List<Tensor> list = new ArrayList<>();
        list.add(new Tensor("token_embd.weight", h, shape.vocab(), true));
        for (int i = 0; i < shape.layers(); i++) {
            String p = "blk." + i + ".";
            list.add(new Tensor(p + "attn_norm.weight", h, 1, false));
            list.add(new Tensor(p + "attn_q.weight", h, h, true));
            list.add(new Tensor(p + "attn_k.weight", h, h, true));
            list.add(new Tensor(p + "attn_v.weight", h, h, true));
            list.add(new Tensor(p + "attn_output.weight", h, h, true));
            list.add(new Tensor(p + "ffn_norm.weight", h, 1, false));
            list.add(new Tensor(p + "ffn_gate.weight", h, ff, true));
            list.add(new Tensor(p + "ffn_up.weight", h, ff, true));
            list.add(new Tensor(p + "ffn_down.weight", ff, h, true));
        }
        list.add(new Tensor("output_norm.weight", h, 1, false));
        list.add(new Tensor("output.weight", h, shape.vocab(), true));
        return list;
    }

    /** Writes the file with {@code threads} workers, reporting progress to {@code log} about every 10 seconds. */
    public void write(Path file, int threads, Consumer<String> log) throws IOException {
        List<Tensor> tensors = tensors();
        try (GgufWriter w = new GgufWriter(file)) {
            putMetadata(w);
            for (Tensor t : tensors) {
                GgmlType tt = t.matrix() ? type : GgmlType.F32;
                if (t.rows() == 1) {
                    w.addTensor(t.name(), tt, t.rowLength());
                } else {
                    w.addTensor(t.name(), tt, t.rowLength(), t.rows());
                }
            }
            long total = w.fileBytes(), done = 0, started = System.nanoTime(), lastLog = started;
            ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
                Thread th = new Thread(r, "gguf-writer");
                th.setDaemon(true);
                return th;
            });
            try {
                ArrayDeque<Future<ByteBuffer>> inFlight = new ArrayDeque<>();
                for (int k = 0; k < tensors.size(); k++) {
                    Tensor t = tensors.get(k);
                    int rowsPerChunk = Math.max(1, CHUNK_VALUES / t.rowLength());
                    for (int row = 0, chunk = 0; row < t.rows(); row += rowsPerChunk, chunk++) {
                        int tensorIndex = k, chunkIndex = chunk, rows = Math.min(rowsPerChunk, t.rows() - row);
                        inFlight.add(pool.submit(() -> chunk(t, tensorIndex, chunkIndex, rows)));
                        if (inFlight.size() >= 2 * threads) {
                            done += drainOne(inFlight, w);
                        }
                    }
                    long now = System.nanoTime();
                    if (now - lastLog > 10_000_000_000L) {
                        lastLog = now;
                        log.accept(String.format("%s: %.2f of %.2f GB, %s, %.0f s", file.getFileName(), done / 1e9, total / 1e9,
                                t.name(), (now - started) / 1e9));
                    }
                }
                while (!inFlight.isEmpty()) {
                    done += drainOne(inFlight, w);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private void putMetadata(GgufWriter w) {
        SyntheticVocab vocab = SyntheticVocab.of(shape.vocab());
        w.putString("general.architecture", "llama");
        w.putString("general.name", "random-llama-" + shape.layers() + "L-" + type);
        w.putUint32("llama.context_length", shape.context());
        w.putUint32("llama.embedding_length", shape.hidden());
        w.putUint32("llama.block_count", shape.layers());
        w.putUint32("llama.feed_forward_length", shape.ffn());
        w.putUint32("llama.attention.head_count", shape.heads());
        w.putUint32("llama.attention.head_count_kv", shape.heads());
        w.putUint32("llama.rope.dimension_count", shape.headDim());
        w.putFloat32("llama.rope.freq_base", 10000f);
        w.putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-6f);
        w.putUint32("llama.vocab_size", shape.vocab());
        w.putUint32("general.file_type", type.fileType);
        w.putString("tokenizer.ggml.model", "llama");
        w.putStrings("tokenizer.ggml.tokens", vocab.tokens());
        w.putFloat32s("tokenizer.ggml.scores", vocab.scores());
        w.putInt32s("tokenizer.ggml.token_type", vocab.types());
        w.putUint32("tokenizer.ggml.bos_token_id", 1);
        w.putUint32("tokenizer.ggml.eos_token_id", 2);
        w.putUint32("tokenizer.ggml.unknown_token_id", 0);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);
    }

    /** The values of {@code rows} rows of tensor t (number k), chunk number {@code chunk} of it, before encoding. */
    private float[] values(Tensor t, int k, int chunk, int rows) {
        float[] x = new float[rows * t.rowLength()];
        if (!t.matrix()) {
            Arrays.fill(x, 1f);                    // RMSNorm weights: the identity scale
            return x;
        }
        SplittableRandom random = new SplittableRandom(mix(seed + mix(((long) k << 32) | chunk)));
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * std);
        }
        return x;
    }

    private ByteBuffer chunk(Tensor t, int k, int chunk, int rows) {
        float[] x = values(t, k, chunk, rows);
        GgmlType tt = t.matrix() ? type : GgmlType.F32;
        ByteBuffer out = ByteBuffer.allocate((int) tt.bytes(x.length)).order(ByteOrder.LITTLE_ENDIAN);
        tt.encode(x, 0, x.length, out);
        return out.flip();
    }

    private static long drainOne(ArrayDeque<Future<ByteBuffer>> inFlight, GgufWriter w) throws IOException {
        try {
            ByteBuffer bytes = inFlight.removeFirst().get();
            int n = bytes.remaining();
            w.write(bytes);
            return n;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing the model", e);
        } catch (ExecutionException e) {
            throw new IOException("making a tensor failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * A 64-bit finaliser (Stafford's mix 13): neighbouring (tensor, chunk) numbers give unrelated seeds. Seeding
     * SplittableRandom with plain consecutive numbers would not do: its streams for seeds that differ by its
     * increment are the same stream shifted by one.
     */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
