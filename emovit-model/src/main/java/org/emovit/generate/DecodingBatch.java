package org.emovit.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.KvCache;
import org.emovit.model.RowSlotCache;
import org.emovit.model.LanguageModel;
import org.emovit.model.Ops;
import org.emovit.model.Owned;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;

/**
 * Greedy (or sampled) decoding one token at a time for a batch whose rows change between steps (continuous
 * batching): rows {@link #join} with one pass over their context, their keys and values copied into free slots of
 * the running {@link RowSlotCache} (the running rows' are not copied), every {@link #step} gives one token per row,
 * and finished rows {@link #leave} (the cache's last slot moves into theirs, and it shrinks when mostly empty).
 * Rows are numbered in the order they joined, whatever slot holds them. Each row keeps its own positions, its own tokens (for the repetition penalty and the minimum
 * length) and its own sampling generator, so a row decodes the same tokens whenever it joins and whoever leaves.
 * The decoding settings are the config's for every row; its maxNewTokens is not used here (the caller ends rows).
 *
 * <p>Owns its tensors between calls (cache, each row's newest hidden state and position) and frees them when the
 * last row leaves or on close(): native memory is invisible to the GC. One caller at a time (the model's thread).
 */
public final class DecodingBatch implements AutoCloseable {
    private final LanguageModel languageModel;
    private final long eosId;
    private final long padId;
    private final GenerationConfig config;   // the rows' settings unless a join gives its own
    private final RowSlotCache cache;
    private final List<Row> rows = new ArrayList<>();    // in slot order: what the model's batch dimension is
    private final List<Row> joined = new ArrayList<>();  // in joining order: how callers number the rows

    // In slot order:
    private Tensor last;        // [B, 1, D] hidden state after each row's newest fed position (owned)
    private Tensor positions;   // [B, 1] position of each row's newest fed token (owned)
    private Tensor chosen;      // [B, 1] the last greedy step's tokens on the device (owned), fed back while no row finished
    private long[] pending;     // the last step's tokens, fed at the next step or join (not at once: rows may leave first)
    private Tensor stepMask;    // [B, 1] ones: the key mask of each step's new position (owned, remade when B changes)


    /** One row's decoding state. */
    private static final class Row {
        final GenerationConfig config;   // maxNewTokens unused: the caller ends rows
        final TokenSampler sampler;      // null: the highest-scoring token
        long[] tokens = new long[16];
        int count;
        boolean finished;
        int slot;

        Row(GenerationConfig config) {
            this.config = config;
            this.sampler = config.sampling() == null ? null : new TokenSampler(config.sampling(), 1);
        }

        /** What decides this row's tokens besides the logits: rows with equal keys are processed together. */
        GenerationConfig key() {
            return config.withMaxNewTokens(1);
        }

        void add(long token) {
            if (count == tokens.length) {
                tokens = Arrays.copyOf(tokens, count * 2);
            }
            tokens[count++] = token;
        }
    }

    public DecodingBatch(LanguageModel languageModel, long eosId, long padId, GenerationConfig config) {
        this.languageModel = languageModel;
        this.eosId = eosId;
        this.padId = padId;
        this.config = config;
        this.cache = new RowSlotCache(languageModel.numLayers());
    }

    /** Rows now in the batch, finished or not. */
    public int size() {
        return rows.size();
    }

    /** Positions the KV cache holds for its longest row (no row sees more). */
    public long cacheLength() {
        return cache.length();
    }

    /** Bytes of the KV cache's buffers: they follow the rows running, and are 0 when none is. */
    public long cacheBytes() {
        return cache.bytes();
    }

    /** The KV cache (tests check what it copies and holds). */
    RowSlotCache cache() {
        return cache;
    }

    public boolean isFinished(int row) {
        return joined.get(row).finished;
    }

    public boolean allFinished() {
        return rows.stream().allMatch(r -> r.finished);
    }

    /** Ends a row as if it had produced EOS (a stop sequence, the client gone): it yields the pad id from now on. */
    public void finish(int row) {
        joined.get(row).finished = true;
    }

    /** The tokens a row has produced so far (EOS included when it produced one). */
    public long[] tokens(int row) {
        Row r = joined.get(row);
        return Arrays.copyOf(r.tokens, r.count);
    }

    /**
     * Adds the prefill's rows after the current ones (their index is size() before the call on): one pass over
     * their context, then their cache joins the running one. The prefill stays the caller's.
     */
    public void join(PrefillInputs prefill) {
        join(prefill, config);
    }

    /**
     * As {@link #join(PrefillInputs)}, the new rows decoded with their own settings (repetition penalty, minimum
     * length, greedy or sampled): requests with different settings share the batch's model passes.
     */
    public void join(PrefillInputs prefill, GenerationConfig rowConfig) {
        if (rowConfig.numBeams() != 1) {
            throw new IllegalArgumentException("a decoding batch decodes one beam, not " + rowConfig.numBeams());
        }
        try (NoGradGuard noGrad = new NoGradGuard()) {
            feedPending();   // the running rows catch up, so every row has a hidden state to pick its next token from
            joinRows(prefill, rowConfig);
        }
    }

    private void joinRows(PrefillInputs prefill, GenerationConfig rowConfig) {
        try (PointerScope scope = new PointerScope()) {
            int n = prefill.batchSize();
            Tensor joinedLast, joinedPositions;
            try (KvCache prompt = new KvCache(languageModel.numLayers())) {
                joinedLast = Owned.step(() -> {
                    Tensor h = languageModel.forward(prefill.inputsEmbeds(), prefill.attentionMask(), prefill.positionIds(), prompt);
                    return Ops.slice(h, 1, h.size(1) - 1, h.size(1)).clone();
                });
                joinedPositions = Owned.own(Tensors.fromLongs(prefill.lastPositions(), n, 1).to(languageModel.device(), ScalarType.Long));
                cache.addRows(prompt);
            }
            last = appendRows(last, joinedLast);
            positions = appendRows(positions, joinedPositions);
            for (int i = 0; i < n; i++) {
                Row r = new Row(rowConfig);
                r.slot = rows.size();
                rows.add(r);
                joined.add(r);
            }
        }
    }

    /**
     * One token for every row, in joining order; a finished row gets the pad id. A row producing EOS is finished.
     */
    public long[] step() {
        long[] bySlot = stepSlots();
        long[] out = new long[joined.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = bySlot[joined.get(i).slot];
        }
        return out;
    }

    private long[] stepSlots() {
        if (rows.isEmpty()) {
            throw new IllegalStateException("no rows to decode");
        }
        int batch = rows.size();
        long[][] generated = new long[batch][];
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            generated[b] = rows.get(b).tokens;
            lengths[b] = rows.get(b).count;
        }
        long[] tokens;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            feedPending();
            try (PointerScope scope = new PointerScope()) {
                Tensor logits = languageModel.logits(last);
                if (plainArgmax(lengths)) {
                    // Nothing changes the scores: the best token straight from the logits, in their dtype (a decoding
                    // step of a small model is made of such op calls; the float copy picked the same token).
                    chosen = Owned.own(logits.argmax(new LongOptional(-1), false));
                    tokens = Tensors.toLongs(chosen);
                    return afterStep(tokens);
                }
                Tensor scores = logits.select(1, 0).to(ScalarType.Float);
                Map<GenerationConfig, List<Integer>> groups = new LinkedHashMap<>();
                for (int b = 0; b < batch; b++) {
                    groups.computeIfAbsent(rows.get(b).key(), k -> new ArrayList<>()).add(b);
                }
                if (groups.size() == 1) {
                    tokens = choose(scores, rows, generated, lengths);
                } else {
                    // rows with other settings: each group's scores processed apart, the tokens put back by slot
                    tokens = new long[batch];
                    for (List<Integer> group : groups.values()) {
                        int[] slots = group.stream().mapToInt(Integer::intValue).toArray();
                        Tensor index = Tensors.fromLongs(Arrays.stream(slots).asLongStream().toArray(), slots.length).to(scores.device(), ScalarType.Long);
                        long[] picked = choose(scores.index_select(0, index), Arrays.stream(slots).mapToObj(rows::get).toList(),
                                Arrays.stream(slots).mapToObj(b -> generated[b]).toArray(long[][]::new),
                                Arrays.stream(slots).map(b -> lengths[b]).toArray());
                        for (int i = 0; i < slots.length; i++) {
                            tokens[slots[i]] = picked[i];
                        }
                    }
                    if (chosen != null) {
                        chosen.close();   // fed from the host copy
                        chosen = null;
                    }
                }
            }
        }
        return afterStep(tokens);
    }

    /**
     * Tokens for rows of one setting from their [rows, vocab] float scores: HF's repetition penalty and minimum
     * length, then the best token (kept on the device to feed back) or a draw from each row's own generator.
     */
    private long[] choose(Tensor scores, List<Row> group, long[][] generated, int[] lengths) {
        GenerationConfig c = group.get(0).config;
        scores = LogitsProcessing.repetitionPenalty(scores, generated, lengths, c.repetitionPenalty());
        scores = LogitsProcessing.minLength(scores, lengths, c.minNewTokens(), eosId);
        if (c.sampling() == null) {
            chosen = Owned.replaceOwned(chosen, scores.argmax(new LongOptional(-1), true));
            return Tensors.toLongs(chosen);
        }
        long[] out = new long[group.size()];   // drawn on the host: the next step is fed from the host copy
        for (int i = 0; i < out.length; i++) {
            out[i] = group.get(i).sampler.next(scores.narrow(0, i, 1))[0];
        }
        return out;
    }

    /** Greedy without a repetition penalty, every row past its minimum length: the logits decide alone. */
    private boolean plainArgmax(int[] lengths) {
        for (int b = 0; b < lengths.length; b++) {
            GenerationConfig c = rows.get(b).config;
            if (c.sampling() != null || c.repetitionPenalty() != 1.0 || lengths[b] < c.minNewTokens()) {
                return false;
            }
        }
        return true;
    }

    /** Records the step's tokens in the rows (a finished row's is the pad id) and keeps them to feed next. */
    private long[] afterStep(long[] tokens) {
        int batch = rows.size();
        for (int b = 0; b < batch; b++) {
            Row r = rows.get(b);
            if (r.finished) {
                tokens[b] = padId;
            } else {
                r.add(tokens[b]);
                r.finished = tokens[b] == eosId;
            }
        }
        pending = tokens.clone();
        return tokens;
    }

    /**
     * Drops these rows (numbered as now; the others keep their order and are renumbered after them); the last row
     * leaving frees everything. Each leaving row's cache slot takes the last slot's row.
     */
    public void leave(int... leaving) {
        List<Row> gone = Arrays.stream(leaving).distinct().mapToObj(joined::get).toList();
        if (gone.isEmpty()) {
            return;
        }
        joined.removeAll(gone);
        if (joined.isEmpty()) {
            rows.clear();
            freeTensors();
            return;
        }
        // origin[s]: the slot whose row now sits in slot s, as the cache moves last slots into freed ones
        int[] origin = java.util.stream.IntStream.range(0, rows.size()).toArray();
        for (Row r : gone) {
            int slot = r.slot;
            int moved = cache.removeRow(slot);
            int lastSlot = rows.size() - 1;
            if (moved >= 0) {
                Row m = rows.get(lastSlot);
                m.slot = slot;
                rows.set(slot, m);
                origin[slot] = origin[lastSlot];
            }
            rows.remove(lastSlot);
        }
        cache.trim();
        int[] kept = Arrays.copyOf(origin, rows.size());
        try (PointerScope scope = new PointerScope()) {
            Tensor index = Tensors.fromLongs(Arrays.stream(kept).asLongStream().toArray(), kept.length).to(languageModel.device(), ScalarType.Long);
            last = Owned.replaceOwned(last, last.index_select(0, index));
            positions = Owned.replaceOwned(positions, positions.index_select(0, index));
            if (chosen != null) {
                chosen = Owned.replaceOwned(chosen, chosen.index_select(0, index));
            }
        }
        if (pending != null) {
            long[] p = pending;
            pending = Arrays.stream(kept).mapToLong(r -> p[r]).toArray();
        }
    }

    @Override
    public void close() {
        rows.clear();
        joined.clear();
        freeTensors();
    }

    /** Runs the model over the last step's tokens (finished rows are fed the pad id, which only the host copy has). */
    private void feedPending() {
        if (pending == null) {
            return;
        }
        long[] tokens = pending;
        pending = null;
        int batch = rows.size();
        boolean anyFinished = rows.stream().anyMatch(r -> r.finished);
        Tensor input = anyFinished ? null : chosen;
        positions.add_(new Scalar(1));
        if (stepMask == null || stepMask.size(0) != batch) {   // the new positions' key mask: all ones, kept while the batch's size is
            stepMask = Owned.replaceOwned(stepMask, torch.ones(new long[] {batch, 1}, Tensors.options(ScalarType.Long, languageModel.device())));
        }
        Tensor previous = last;
        Tensor mask = stepMask;
        last = Owned.step(() -> languageModel.forward(
                languageModel.embed(input != null ? input : Tensors.fromLongs(tokens, batch, 1)), mask, positions, cache));
        previous.close();
        if (chosen != null) {
            chosen.close();
            chosen = null;
        }
    }

    private void freeTensors() {
        cache.close();
        Owned.free(last, positions, chosen, stepMask);
        last = null;
        positions = null;
        chosen = null;
        stepMask = null;
        pending = null;
    }

    /** Rows of two owned tensors one after the other (owned); frees both. */
    private static Tensor appendRows(Tensor running, Tensor joined) {
        if (running == null) {
            return joined;
        }
        Tensor both = Owned.step(() -> Ops.cat(0, running, joined));
        running.close();
        joined.close();
        return both;
    }
}
