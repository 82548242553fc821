package org.emovit.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.KvCache;
import org.emovit.model.LanguageModel;
import org.emovit.model.Ops;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;

/**
 * Greedy (or sampled) decoding one token at a time for a batch whose rows change between steps (continuous
 * batching): rows {@link #join} with one pass over their context, their KV cache merged into the running one (the
 * shorter side padded on the left, masked out), every {@link #step} gives one token per row, and finished rows
 * {@link #leave}. Each row keeps its own positions, its own tokens (for the repetition penalty and the minimum
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
    private final GenerationConfig config;
    private final TokenSampler sampler;   // null: the highest-scoring token
    private final KvCache cache;
    private final List<Row> rows = new ArrayList<>();

    private Tensor last;        // [B, 1, D] hidden state after each row's newest fed position (owned)
    private Tensor positions;   // [B, 1] position of each row's newest fed token (owned)
    private Tensor chosen;      // [B, 1] the last greedy step's tokens on the device (owned), fed back while no row finished
    private long[] pending;     // the last step's tokens, fed at the next step or join (not at once: rows may leave first)
    private Tensor stepMask;    // [B, 1] ones: the key mask of each step's new position (owned, remade when B changes)


    /** One row's decoding state. */
    private static final class Row {
        long[] tokens = new long[16];
        int count;
        boolean finished;

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
        this.sampler = config.sampling() == null ? null : new TokenSampler(config.sampling(), 0);
        this.cache = new KvCache(languageModel.numLayers());
    }

    /** Rows now in the batch, finished or not. */
    public int size() {
        return rows.size();
    }

    public boolean isFinished(int row) {
        return rows.get(row).finished;
    }

    public boolean allFinished() {
        return rows.stream().allMatch(r -> r.finished);
    }

    /** Ends a row as if it had produced EOS (a stop sequence, the client gone): it yields the pad id from now on. */
    public void finish(int row) {
        rows.get(row).finished = true;
    }

    /** The tokens a row has produced so far (EOS included when it produced one). */
    public long[] tokens(int row) {
        Row r = rows.get(row);
        return Arrays.copyOf(r.tokens, r.count);
    }

    /**
     * Adds the prefill's rows after the current ones (their index is size() before the call on): one pass over
     * their context, then their cache joins the running one. The prefill stays the caller's.
     */
    public void join(PrefillInputs prefill) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            feedPending();   // the running rows catch up, so every row has a hidden state to pick its next token from
            joinRows(prefill);
        }
    }

    private void joinRows(PrefillInputs prefill) {
        try (PointerScope scope = new PointerScope()) {
            int n = prefill.batchSize();
            Tensor joinedLast, joinedPositions;
            try (KvCache joined = new KvCache(languageModel.numLayers())) {
                joinedLast = Ops.step(() -> {
                    Tensor h = languageModel.forward(prefill.inputsEmbeds(), prefill.attentionMask(), prefill.positionIds(), joined);
                    return Ops.slice(h, 1, h.size(1) - 1, h.size(1)).clone();
                });
                joinedPositions = Ops.own(Tensors.fromLongs(prefill.lastPositions(), n, 1).to(languageModel.device(), ScalarType.Long));
                cache.appendRows(joined);
            }
            last = appendRows(last, joinedLast);
            positions = appendRows(positions, joinedPositions);
            for (int i = 0; i < n; i++) {
                rows.add(new Row());
            }
            if (sampler != null) {
                sampler.addRows(n);
            }
        }
    }

    /**
     * One token for every row, in row order; a finished row gets the pad id. A row producing EOS is finished.
     */
    public long[] step() {
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
                if (sampler == null && plainArgmax(lengths)) {
                    // Nothing changes the scores: the best token straight from the logits, in their dtype (a decoding
                    // step of a small model is made of such op calls; the float copy picked the same token).
                    chosen = Ops.own(logits.argmax(new LongOptional(-1), false));
                    tokens = Tensors.toLongs(chosen);
                    return afterStep(tokens);
                }
                Tensor scores = logits.select(1, 0).to(ScalarType.Float);
                scores = LogitsProcessing.repetitionPenalty(scores, generated, lengths, config.repetitionPenalty());
                scores = LogitsProcessing.minLength(scores, lengths, config.minNewTokens(), eosId);
                if (sampler == null) {
                    chosen = Ops.own(scores.argmax(new LongOptional(-1), true));
                    tokens = Tensors.toLongs(chosen);
                } else {
                    tokens = sampler.next(scores);   // drawn on the host: the next step is fed from the host copy
                }
            }
        }
        return afterStep(tokens);
    }

    /** Greedy without a repetition penalty, every row past the minimum length: the logits decide alone. */
    private boolean plainArgmax(int[] lengths) {
        if (config.repetitionPenalty() != 1.0) {
            return false;
        }
        for (int length : lengths) {
            if (length < config.minNewTokens()) {
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

    /** Drops these rows (indices as now; the others keep their order); the last row leaving frees everything. */
    public void leave(int... leaving) {
        boolean[] gone = new boolean[rows.size()];
        for (int r : leaving) {
            gone[r] = true;
        }
        int[] kept = java.util.stream.IntStream.range(0, rows.size()).filter(r -> !gone[r]).toArray();
        if (kept.length == rows.size()) {
            return;
        }
        if (kept.length == 0) {
            rows.clear();
            if (sampler != null) {
                sampler.keepRows(kept);
            }
            freeTensors();
            return;
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor index = Tensors.fromLongs(Arrays.stream(kept).asLongStream().toArray(), kept.length).to(languageModel.device(), ScalarType.Long);
            cache.selectRows(index);
            last = Ops.replaceOwned(last, last.index_select(0, index));
            positions = Ops.replaceOwned(positions, positions.index_select(0, index));
            if (chosen != null) {
                chosen = Ops.replaceOwned(chosen, chosen.index_select(0, index));
            }
        }
        if (pending != null) {
            long[] p = pending;
            pending = Arrays.stream(kept).mapToLong(r -> p[r]).toArray();
        }
        List<Row> keptRows = Arrays.stream(kept).mapToObj(rows::get).toList();
        rows.clear();
        rows.addAll(keptRows);
        if (sampler != null) {
            sampler.keepRows(kept);
        }
    }

    @Override
    public void close() {
        rows.clear();
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
            stepMask = Ops.replaceOwned(stepMask, torch.ones(new long[] {batch, 1}, Tensors.options(ScalarType.Long, languageModel.device())));
        }
        Tensor previous = last;
        Tensor mask = stepMask;
        last = Ops.step(() -> languageModel.forward(
                languageModel.embed(input != null ? input : Tensors.fromLongs(tokens, batch, 1)), mask, positions, cache));
        previous.close();
        if (chosen != null) {
            chosen.close();
            chosen = null;
        }
    }

    private void freeTensors() {
        cache.close();
        for (Tensor t : new Tensor[] {last, positions, chosen, stepMask}) {
            if (t != null) {
                t.close();
            }
        }
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
        Tensor both = Ops.step(() -> Ops.cat(0, running, joined));
        running.close();
        joined.close();
        return both;
    }
}
