package org.emovit.generate;

import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
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
 * Greedy decoding with the KV cache: one pass over the context, then one token per step. Positions follow
 * the attention mask (left padding shifts them), as Hugging Face's generate does for LLaMA.
 */
public final class GreedyDecoder {

    /** Called after each step with the tokens chosen for every row (finished rows repeat the pad id). */
    public interface StepListener {
        void onStep(int step, long[] tokens);

        /**
         * Asked after each step for every unfinished row: true ends the row there as if it had produced EOS (a stop
         * sequence matched, the client went away). The batch ends when every row has.
         */
        default boolean isFinished(int row) {
            return false;
        }
    }

    private final LanguageModel languageModel;
    private final long eosId;
    private final long padId;

    public GreedyDecoder(LanguageModel languageModel, long eosId, long padId) {
        this.languageModel = languageModel;
        this.eosId = eosId;
        this.padId = padId;
    }

    /**
     * @param inputsEmbeds  context embeddings [B, T, D] (image slots filled)
     * @param attentionMask context mask [B, T]
     * @return the new tokens [B][n], n <= maxNewTokens; a row that produced EOS is padded after it
     */
    public long[][] generate(Tensor inputsEmbeds, Tensor attentionMask, int maxNewTokens, StepListener listener) {
        return generate(inputsEmbeds, attentionMask, GenerationConfig.greedy(maxNewTokens), listener);
    }

    public long[][] generate(Tensor inputsEmbeds, Tensor attentionMask, GenerationConfig config, StepListener listener) {
        return generate(PrefillInputs.of(inputsEmbeds, attentionMask), config, listener);
    }

    /**
     * Greedy decoding with the config's repetition penalty and minimum length (its beam count is not used); with the
     * config's sampling settings, tokens are drawn instead of taking the best.
     */
    public long[][] generate(PrefillInputs prefill, GenerationConfig config, StepListener listener) {
        int maxNewTokens = config.maxNewTokens();
        int batch = prefill.batchSize();
        Tensor inputsEmbeds = prefill.inputsEmbeds(), mask = prefill.attentionMask(), positions = prefill.positionIds();
        long[] next = prefill.lastPositions();

        long[][] out = new long[batch][maxNewTokens];
        boolean[] done = new boolean[batch];
        int produced = 0;
        TokenSampler sampler = config.sampling() == null ? null : new TokenSampler(config.sampling(), batch);
        // Each step runs in its own scope; only the cache and the last hidden state live from step to step.
        // Tensors every step reuses: the step's key mask (all ones) and positions (advanced in place), and the
        // chosen tokens, which feed the next step on the device while no row has finished.
        Tensor stepMask = Ops.own(torch.ones(new long[] {batch, 1}, Tensors.options(ScalarType.Long, languageModel.device())));
        Tensor stepPositions = Ops.own(Tensors.fromLongs(next.clone(), batch, 1).to(languageModel.device(), ScalarType.Long));
        Tensor chosen = null;
        try (KvCache cache = new KvCache(languageModel.numLayers())) {
            Tensor last = Ops.step(() -> {
                Tensor h = languageModel.forward(inputsEmbeds, mask, positions, cache);
                return Ops.slice(h, 1, h.size(1) - 1, h.size(1)).clone();
            });
            try {
                for (int step = 0; step < maxNewTokens; step++) {
                    long[] tokens;
                    if (chosen != null) {
                        chosen.close();
                    }
                    try (PointerScope scope = new PointerScope()) {
                        Tensor scores = languageModel.logits(last).select(1, 0).to(ScalarType.Float);
                        scores = LogitsProcessing.repetitionPenalty(scores, out, step, config.repetitionPenalty());
                        scores = LogitsProcessing.minLength(scores, step, config.minNewTokens(), eosId);
                        if (sampler == null) {
                            chosen = Ops.own(scores.argmax(new LongOptional(-1), true));
                            tokens = Tensors.toLongs(chosen);
                        } else {
                            tokens = sampler.next(scores);
                            chosen = null;   // drawn on the host: the next step is fed from the host copy
                        }
                    }
                    for (int b = 0; b < batch; b++) {
                        if (done[b]) {
                            tokens[b] = padId;
                        }
                        out[b][step] = tokens[b];
                        done[b] |= tokens[b] == eosId;
                    }
                    produced = step + 1;
                    if (listener != null) {
                        listener.onStep(step, tokens.clone());
                        for (int b = 0; b < batch; b++) {
                            done[b] = done[b] || listener.isFinished(b);   // asked of unfinished rows only
                        }
                    }
                    boolean allDone = true, anyDone = false;
                    for (boolean d : done) {
                        allDone &= d;
                        anyDone |= d;
                    }
                    if (allDone || step == maxNewTokens - 1) {
                        break;
                    }
                    stepPositions.add_(new Scalar(1));
                    // finished rows are fed the pad id, which only the host copy carries
                    long[] stepTokens = tokens;
                    Tensor input = anyDone || chosen == null ? null : chosen;
                    Tensor previous = last;
                    last = Ops.step(() -> languageModel.forward(
                            languageModel.embed(input != null ? input : Tensors.fromLongs(stepTokens, batch, 1)), stepMask, stepPositions, cache));
                    previous.close();
                }
            } finally {
                last.close();
            }
        } finally {
            if (chosen != null) {
                chosen.close();
            }
            stepMask.close();
            stepPositions.close();
        }
        long[][] trimmed = new long[batch][];
        for (int b = 0; b < batch; b++) {
            trimmed[b] = Arrays.copyOf(out[b], produced);
        }
        return trimmed;
    }

}
