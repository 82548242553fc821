package org.emovit.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.KvCache;
import org.emovit.model.LanguageModel;
import org.emovit.model.Ops;
import org.emovit.model.Owned;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;

/**
 * Beam search over one context as HF's generate does it: log-softmax scores adjusted by the repetition
 * penalty and minimum length, the top 2*beams continuations of all beams, an EOS continuation finishing a
 * hypothesis ranked by sum(log p) / length^lengthPenalty. It stops as soon as `beams` hypotheses are finished
 * (HF's early_stopping=True), so one beam is exactly greedy decoding.
 */
public final class BeamSearch {
    private final LanguageModel languageModel;
    private final long eosId;

    public BeamSearch(LanguageModel languageModel, long eosId) {
        this.languageModel = languageModel;
        this.eosId = eosId;
    }

    private record Hypothesis(long[] tokens, double score) {}

    /** @return the best hypothesis' tokens (ending with EOS unless the length ran out) for a context [1, T, D]. */
    public long[] generate(Tensor contextEmbeds, Tensor contextMask, GenerationConfig config) {
        return generate(PrefillInputs.of(contextEmbeds, contextMask), config);
    }

    /** @return the best hypothesis' tokens for a prefill of one row. */
    public long[] generate(PrefillInputs prefill, GenerationConfig config) {
        if (prefill.batchSize() != 1) {
            throw new IllegalArgumentException("beam search takes one context at a time");
        }
        long nextPosition = prefill.lastPositions()[0] + 1;
        try (KvCache cache = new KvCache(languageModel.numLayers())) {
            return prefillAndSearch(prefill.inputsEmbeds(), prefill.attentionMask(), prefill.positionIds(), nextPosition, config, cache);
        }
    }

    private long[] prefillAndSearch(Tensor contextEmbeds, Tensor mask, Tensor positions, long nextPosition,
                                    GenerationConfig config, KvCache cache) {
        // As in greedy decoding, each step runs in its own scope: only the cache and the last hidden state live on.
        Tensor last = Owned.step(() -> {
            Tensor hidden = languageModel.forward(contextEmbeds, mask, positions, cache);
            return Ops.slice(hidden, 1, hidden.size(1) - 1, hidden.size(1)).select(1, 0).clone();
        });
        try {
            return search(last, nextPosition, config, cache);
        } finally {
            last.close();
        }
    }

    private long[] search(Tensor first, long nextPosition, GenerationConfig config, KvCache cache) {
        int beams = config.numBeams();
        Tensor last = first;

        long[][] running = {new long[0]};
        double[] runningScores = {0.0};
        List<Hypothesis> finished = new ArrayList<>();
        for (int step = 0; step < config.maxNewTokens(); step++) {
            int rows = running.length;
            long[][] history = new long[rows][];
            for (int r = 0; r < rows; r++) {
                history[r] = running[r];
            }
            float[] topScores;
            long[] topIndex;
            long vocab;
            try (PointerScope scope = new PointerScope()) {
                Tensor scores = torch.log_softmax(languageModel.logits(last).to(ScalarType.Float), -1);
                scores = LogitsProcessing.repetitionPenalty(scores, history, step, config.repetitionPenalty());
                scores = LogitsProcessing.minLength(scores, step, config.minNewTokens(), eosId);
                Tensor total = scores.add(Tensors.fromFloats(toFloats(runningScores), rows, 1).to(scores.device(), ScalarType.Float));
                vocab = total.size(1);
                T_TensorTensor_T top = torch.topk(total.reshape(-1), Math.min(2L * beams, rows * vocab), -1, true, true);
                topScores = Tensors.toFloats(top.get0());
                topIndex = Tensors.toLongs(top.get1());
            }

            List<long[]> nextBeams = new ArrayList<>();
            List<Double> nextScores = new ArrayList<>();
            List<Long> sourceRows = new ArrayList<>();
            for (int i = 0; i < topIndex.length && nextBeams.size() < beams; i++) {
                int row = (int) (topIndex[i] / vocab);
                long token = topIndex[i] % vocab;
                long[] tokens = Arrays.copyOf(running[row], step + 1);
                tokens[step] = token;
                if (token == eosId) {
                    if (i < beams) {
                        finished.add(new Hypothesis(tokens, topScores[i] / Math.pow(tokens.length, config.lengthPenalty())));
                    }
                    continue;
                }
                nextBeams.add(tokens);
                nextScores.add((double) topScores[i]);
                sourceRows.add((long) row);
            }
            if (finished.size() >= beams || nextBeams.isEmpty() || step == config.maxNewTokens() - 1) {
                for (int b = 0; b < nextBeams.size() && step == config.maxNewTokens() - 1; b++) {
                    long[] t = nextBeams.get(b);
                    finished.add(new Hypothesis(t, nextScores.get(b) / Math.pow(t.length, config.lengthPenalty())));
                }
                break;
            }
            running = nextBeams.toArray(new long[0][]);
            runningScores = nextScores.stream().mapToDouble(Double::doubleValue).toArray();
            try (PointerScope scope = new PointerScope()) {
                cache.selectRows(Tensors.fromLongs(sourceRows.stream().mapToLong(Long::longValue).toArray(), sourceRows.size())
                        .to(languageModel.device(), ScalarType.Long));
            }
            long[] lastTokens = new long[running.length];
            long[] pos = new long[running.length];
            long[] ones = new long[running.length];
            for (int b = 0; b < running.length; b++) {
                lastTokens[b] = running[b][step];
                pos[b] = nextPosition;
                ones[b] = 1;
            }
            nextPosition++;
            int n = running.length;
            Tensor previous = last;
            last = Owned.step(() -> languageModel.forward(languageModel.embed(Tensors.fromLongs(lastTokens, n, 1)),
                    Tensors.fromLongs(ones, n, 1), Tensors.fromLongs(pos, n, 1), cache).select(1, 0));
            if (previous != first) {
                previous.close();
            }
        }
        if (last != first) {
            last.close();
        }
        return finished.stream().max(Comparator.comparingDouble(Hypothesis::score)).map(Hypothesis::tokens).orElse(new long[0]);
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }
}
