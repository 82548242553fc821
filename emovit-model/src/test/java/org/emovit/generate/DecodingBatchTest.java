package org.emovit.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Fixtures;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipLoader;
import org.emovit.model.LlamaDecoder;
import org.emovit.model.ModelSource;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Rows joining a running batch and rows leaving it early decode exactly the tokens each decodes alone. */
class DecodingBatchTest {
    static final long PAD = 512;
    static final int N = 10;
    static final long[] A = {2, 17, 300, 41, 99, 7, 250};
    static final long[] C = {2, 88, 12};
    static final long[] B = {2, 5, 61, 400, 33, 18, 77, 120, 9, 301, 44, 64};   // longer than A's cache when it joins
    static final long[] D = {2, 140};

    static NoGradGuard noGrad;
    static InstructBlip model;
    static LlamaDecoder lm;

    @BeforeAll
    static void load() {
        noGrad = new NoGradGuard();
        model = InstructBlipLoader.load(ModelSource.huggingFace(Fixtures.tinyA().resolve("hf")), ScalarType.Float, new Device("cpu"));
        lm = model.languageModel();
    }

    @AfterAll
    static void close() {
        model.close();
        noGrad.close();
    }

    /** The rows' context embeddings, left-padded to the longest. */
    static PrefillInputs prefill(long[]... rows) {
        int t = Arrays.stream(rows).mapToInt(r -> r.length).max().orElse(0);
        long[][] ids = new long[rows.length][t];
        long[][] mask = new long[rows.length][t];
        for (int r = 0; r < rows.length; r++) {
            int padding = t - rows[r].length;
            Arrays.fill(ids[r], 0, padding, PAD);
            System.arraycopy(rows[r], 0, ids[r], padding, rows[r].length);
            Arrays.fill(mask[r], padding, t, 1);
        }
        return PrefillInputs.of(lm.embed(Tensors.fromLongs(ids)), Tensors.fromLongs(mask));
    }

    static long[] alone(long[] context, GenerationConfig config, long eos) {
        long[] out = new GreedyDecoder(lm, eos, PAD).generate(prefill(context), config.withMaxNewTokens(N), null)[0];
        int end = 0;
        while (end < out.length && out[end] != PAD) {
            end++;   // a row that ended with EOS is padded after it
        }
        return Arrays.copyOf(out, end);
    }

    /**
     * A and C start together; C leaves after 2 tokens; after 3 steps B and D join (B's context longer than the
     * running cache, D's shorter than B's); each row stays until it has N tokens or has finished.
     */
    static Map<String, long[]> continuous(GenerationConfig config, long eos) {
        Map<String, long[]> produced = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        try (DecodingBatch batch = new DecodingBatch(lm, eos, PAD, config)) {
            batch.join(prefill(A, C));
            names.addAll(List.of("A", "C"));
            for (int step = 0; !names.isEmpty(); step++) {
                if (step == 3) {
                    batch.join(prefill(B, D));
                    names.addAll(List.of("B", "D"));
                }
                batch.step();
                List<Integer> leaving = new ArrayList<>();
                for (int r = 0; r < names.size(); r++) {
                    long[] tokens = batch.tokens(r);
                    boolean early = names.get(r).equals("C") && tokens.length == 2;
                    if (early || tokens.length == N || batch.isFinished(r)) {
                        produced.put(names.get(r), tokens);
                        leaving.add(r);
                    }
                }
                batch.leave(leaving.stream().mapToInt(Integer::intValue).toArray());
                for (int i = leaving.size() - 1; i >= 0; i--) {
                    names.remove((int) leaving.get(i));
                }
                assertThat(batch.size()).isEqualTo(names.size());
            }
        }
        return produced;
    }

    void assertEachRowAsAlone(GenerationConfig config, long eos) {
        Map<String, long[]> produced = continuous(config, eos);
        assertThat(produced.get("A")).containsExactly(alone(A, config, eos));
        assertThat(produced.get("B")).containsExactly(alone(B, config, eos));
        assertThat(produced.get("D")).containsExactly(alone(D, config, eos));
        long[] c = alone(C, config, eos);
        assertThat(produced.get("C")).containsExactly(Arrays.copyOf(c, Math.min(2, c.length)));
    }

    @Test
    void greedyRowsJoiningAndLeavingDecodeAsAlone() {
        assertEachRowAsAlone(GenerationConfig.greedy(N), -1);
    }

    @Test
    void withEmovitsRepetitionPenaltyAndAMinimumLength() {
        GenerationConfig emovit = GenerationConfig.emovit();
        assertEachRowAsAlone(new GenerationConfig(1, N, 3, emovit.repetitionPenalty(), 1.0), 2);
    }

    @Test
    void sampledRowsJoiningLaterDrawAsAlone() {
        assertEachRowAsAlone(GenerationConfig.emovit().withSampling(new Sampling(0.9, 0.8, 7)), -1);
    }

    /**
     * 2,000 decoding steps of steady load: rows of random prompt lengths join while others run and leave at random
     * lengths, so the batch never empties until the end. The cache holds no column beyond what the longest running
     * row has (prompt + tokens fed), its buffers never grow past what the rows need plus a chunk, and they are freed
     * when the last row leaves.
     */
    @Test
    void underSteadyLoadTheCacheFollowsTheRunningRowsAndEmptiesWhenIdle() {
        java.util.Random random = new java.util.Random(11);
        List<Integer> promptLengths = new ArrayList<>();   // real prompt tokens of each running row, in row order
        List<Integer> targets = new ArrayList<>();         // tokens each row stays for
        long maxColumns = 0;
        try (DecodingBatch batch = new DecodingBatch(lm, -1, PAD, GenerationConfig.greedy(1000))) {
            for (int step = 0; step < 2000; step++) {
                if (batch.size() < 6 && random.nextInt(3) == 0 || batch.size() == 0) {
                    int joining = 1 + random.nextInt(2);
                    long[][] contexts = new long[joining][];
                    for (int j = 0; j < joining; j++) {
                        contexts[j] = new long[2 + random.nextInt(20)];
                        contexts[j][0] = 2;
                        for (int t = 1; t < contexts[j].length; t++) {
                            contexts[j][t] = 3 + random.nextInt(500);
                        }
                        promptLengths.add(contexts[j].length);
                        targets.add(1 + random.nextInt(60));
                    }
                    batch.join(prefill(contexts));
                }
                batch.step();
                int longest = 0;
                List<Integer> leaving = new ArrayList<>();
                for (int r = 0; r < batch.size(); r++) {
                    int generated = batch.tokens(r).length;
                    longest = Math.max(longest, promptLengths.get(r) + generated);
                    if (generated >= targets.get(r)) {
                        leaving.add(r);
                    }
                }
                assertThat(batch.cacheLength()).as("step %d", step).isLessThanOrEqualTo(longest);
                maxColumns = Math.max(maxColumns, batch.cache().columnCapacity());
                assertThat(batch.cache().columnCapacity()).as("step %d", step)
                        .isLessThanOrEqualTo(batch.cacheLength() + 3 * org.emovit.model.RowSlotCache.COLUMN_CHUNK);
                if (step < 1990) {
                    batch.leave(leaving.stream().mapToInt(Integer::intValue).toArray());
                    for (int i = leaving.size() - 1; i >= 0; i--) {
                        promptLengths.remove((int) leaving.get(i));
                        targets.remove((int) leaving.get(i));
                    }
                }
            }
            assertThat(maxColumns).as("columns follow the rows, not the 2,000 steps").isLessThan(300);
            batch.leave(java.util.stream.IntStream.range(0, batch.size()).toArray());
            assertThat(batch.size()).isZero();
            assertThat(batch.cacheBytes()).isZero();
            assertThat(batch.cacheLength()).isZero();
        }
    }

    /** A row joining while the cache has a free slot is copied into it: the running rows' buffers stay where they are. */
    @Test
    void aJoiningRowIsCopiedIntoAFreeSlotWithoutCopyingTheRunningRows() {
        GenerationConfig config = GenerationConfig.greedy(N);
        try (DecodingBatch batch = new DecodingBatch(lm, -1, PAD, config)) {
            batch.join(prefill(A, C, D));
            batch.step();
            batch.leave(1);   // C leaves: its slot is free
            long[] beforeA = batch.tokens(0);
            org.bytedeco.pytorch.Tensor keys = batch.cache().keyBuffer(0);
            long address = keys.data_ptr().address();
            long bytes = batch.cacheBytes();
            batch.join(prefill(B));
            assertThat(batch.cache().keyBuffer(0).data_ptr().address()).isEqualTo(address);
            assertThat(batch.cacheBytes()).isEqualTo(bytes);
            assertThat(batch.size()).isEqualTo(3);
            batch.step();
            assertThat(batch.tokens(0)).startsWith(beforeA);
            assertThat(batch.tokens(2)).hasSize(1);
        }
    }

    /** Rows with their own settings (greedy, EmoVIT's penalty, sampled) share the passes and decode as alone. */
    @Test
    void rowsWithTheirOwnSettingsDecodeAsAloneInOneBatch() {
        GenerationConfig plain = GenerationConfig.greedy(N);
        GenerationConfig penalised = new GenerationConfig(1, N, 3, GenerationConfig.emovit().repetitionPenalty(), 1.0);
        GenerationConfig sampled = GenerationConfig.emovit().withSampling(new Sampling(0.9, 0.8, 7));
        try (DecodingBatch batch = new DecodingBatch(lm, -1, PAD, plain)) {
            batch.join(prefill(A));
            batch.step();
            batch.join(prefill(B), penalised);
            batch.join(prefill(D), sampled);
            for (int step = 0; step < N; step++) {
                batch.step();
            }
            assertThat(Arrays.copyOf(batch.tokens(0), N)).containsExactly(alone(A, plain, -1));
            assertThat(Arrays.copyOf(batch.tokens(1), N)).containsExactly(alone(B, penalised, -1));
            assertThat(Arrays.copyOf(batch.tokens(2), N)).containsExactly(alone(D, sampled, -1));
        }
    }
}
