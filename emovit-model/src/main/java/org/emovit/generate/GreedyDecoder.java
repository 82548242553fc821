package org.emovit.generate;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.emovit.model.LanguageModel;
import org.emovit.model.PrefillInputs;

/**
 * Greedy decoding with the KV cache: one pass over the context, then one token per step (a {@link DecodingBatch}
 * whose rows all join at once). Positions follow the attention mask (left padding shifts them), as Hugging Face's
 * generate does for LLaMA.
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
        long[][] out = new long[batch][maxNewTokens];
        int produced = 0;
        // The rows join once and none leave: a finished row keeps its place (fed the pad id) until all have finished.
        try (DecodingBatch decoding = new DecodingBatch(languageModel, eosId, padId, config)) {
            decoding.join(prefill);
            for (int step = 0; step < maxNewTokens; step++) {
                long[] tokens = decoding.step();
                for (int b = 0; b < batch; b++) {
                    out[b][step] = tokens[b];
                }
                produced = step + 1;
                if (listener != null) {
                    listener.onStep(step, tokens.clone());
                    for (int b = 0; b < batch; b++) {
                        if (!decoding.isFinished(b) && listener.isFinished(b)) {   // asked of unfinished rows only
                            decoding.finish(b);
                        }
                    }
                }
                if (decoding.allFinished()) {
                    break;
                }
            }
        }
        long[][] trimmed = new long[batch][];
        for (int b = 0; b < batch; b++) {
            trimmed[b] = Arrays.copyOf(out[b], produced);
        }
        return trimmed;
    }

}
