package org.emovit.serve;

import java.util.concurrent.CompletableFuture;
import org.emovit.api.EmoVit;
import org.emovit.attribution.HeatmapRequest;
import org.emovit.attribution.MapPass;
import org.emovit.generate.GenerationConfig;
import org.emovit.image.RgbImage;

/** A request waiting for the model. Classifications of one mode share one model pass (the planner groups them). */
sealed interface Job permits Job.Classify, Job.Heatmap, Job.Generate {

    long deadlineNanos();

    CompletableFuture<?> result();

    /**
     * Classification of one image (score or generate mode), with an explanation and a heat map when asked for
     * (heatmap null: none). Maps are computed one image at a time after the batch's pass ({@link Heatmap}); they do
     * not split batches.
     */
    record Classify(RgbImage image, EmoVit.Mode mode, boolean explain, HeatmapRequest heatmap, long deadlineNanos,
                    CompletableFuture<Classification> result) implements Job {
    }

    /**
     * A classified image waiting for its heat map, queued by the classification pass: the planner gives the model one
     * piece of one map at a time, between two decoding steps, and a map under way waits ahead of the others until
     * done. It answers the classification's caller, under its deadline.
     *
     * @param pass the map's pass: unstarted when queued, holding native memory from its first piece until closed
     */
    record Heatmap(Classify job, EmoVit.Result classified, MapPass pass) implements Job {
        @Override
        public long deadlineNanos() {
            return job.deadlineNanos();
        }

        @Override
        public CompletableFuture<Classification> result() {
            return job.result();
        }
    }

    /** One prompt about one image; rows of any length share a pass when the other decoding settings agree. */
    record Generate(RgbImage image, String prompt, GenerationConfig config, GenerationRow row, long deadlineNanos,
                    CompletableFuture<Generation> result) implements Job {
        /** The decoding settings that matter to a row (its token limit is the row's own). */
        public GenerationConfig batchKey() {
            return config.withMaxNewTokens(1);
        }
    }
}
