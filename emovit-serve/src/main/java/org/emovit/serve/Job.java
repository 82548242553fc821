package org.emovit.serve;

import java.util.concurrent.CompletableFuture;
import org.emovit.api.EmoVit;
import org.emovit.attribution.PatchMap;
import org.emovit.core.Emotion;
import org.emovit.generate.GenerationConfig;
import org.emovit.image.RgbImage;

/** A request waiting for the model. Classifications with equal batch keys (their mode) share one model pass. */
sealed interface Job permits Job.Classify, Job.Generate {

    Object batchKey();

    long deadlineNanos();

    CompletableFuture<?> result();

    /** A heat map asked for with a classification: this method, of this emotion (null: the predicted one). */
    record Heatmap(PatchMap.Method method, Emotion emotion) {}

    /**
     * Classification of one image (score or generate mode), with an explanation and a heat map when asked for
     * (heatmap null: none). Maps are computed one image at a time after the batch's pass; they do not split batches.
     */
    record Classify(RgbImage image, EmoVit.Mode mode, boolean explain, Heatmap heatmap, long deadlineNanos,
                    CompletableFuture<Classification> result) implements Job {
        @Override
        public Object batchKey() {
            return mode;
        }
    }

    /** One prompt about one image; rows of any length share a pass when the other decoding settings agree. */
    record Generate(RgbImage image, String prompt, GenerationConfig config, GenerationRow row, long deadlineNanos,
                    CompletableFuture<Generation> result) implements Job {
        /** The decoding settings that matter to a row (its token limit is the row's own). */
        @Override
        public GenerationConfig batchKey() {
            return config.withMaxNewTokens(1);
        }
    }
}
