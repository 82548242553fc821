package org.emovit.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.emovit.api.EmoVit;
import org.emovit.attribution.PatchMap;
import org.emovit.core.Prompts;
import org.emovit.image.RgbImage;

/**
 * What the model's outputs become: each decoding step's tokens are fed to their rows (which stream text and end at
 * EOS, a stop sequence, their token limit, their deadline or their client leaving), finished rows are answered, and
 * classified images are answered — or, when an explanation was asked for, handed back as an explanation generation
 * that joins the running batch like any other and completes the classification when it ends. Answers are completed
 * on the callbacks executor, never on the model's thread.
 */
final class OutputProcessor {
    /** A generation in the running batch, with its prompt's length for usage accounting. */
    record Running(Job.Generate job, int promptTokens) {}

    private final EmoVit emoVit;
    private final ServeMetrics metrics;
    private final Executor callbacks;

    OutputProcessor(EmoVit emoVit, ServeMetrics metrics, Executor callbacks) {
        this.emoVit = emoVit;
        this.metrics = metrics;
        this.callbacks = callbacks;
    }

    /**
     * Feeds a step's tokens to the running rows (in joining order; {@code produced} gives a row's tokens so far, kept
     * by the decoding batch alone) and answers the rows that ended.
     *
     * @return the indices of the rows that leave, ascending
     */
    int[] stepped(long[] tokens, List<Running> running, java.util.function.IntFunction<long[]> tokensOf) {
        List<Integer> leaving = new ArrayList<>();
        int produced = 0;
        for (int b = 0; b < tokens.length; b++) {
            GenerationRow row = running.get(b).job().row();
            if (!row.finished()) {
                row.accept(tokensOf.apply(b));
                produced++;
            }
            if (row.finished()) {
                leaving.add(b);
            }
        }
        metrics.tokens(produced);
        for (int b : leaving) {
            Running r = running.get(b);
            complete(r.job(), r.promptTokens());
        }
        return leaving.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Answers the classified images with their heat maps (null where none); those that asked for an explanation come
     * back as generations to run.
     */
    List<Job.Generate> classified(List<Job.Classify> jobs, List<EmoVit.Result> results, List<PatchMap> maps) {
        List<Job.Generate> explanations = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            Job.Classify job = jobs.get(i);
            EmoVit.Result result = results.get(i);
            if (job.explain()) {
                explanations.add(explanation(job, result, maps.get(i)));
            } else {
                answer(job.result(), new Classification(result, null, maps.get(i)));
            }
        }
        return explanations;
    }

    /** The explanation of a classification as a generation, completing the classification when it ends. */
    private Job.Generate explanation(Job.Classify job, EmoVit.Result result, PatchMap map) {
        CompletableFuture<Generation> done = new CompletableFuture<>();
        TokenSink sink = new TokenSink() {
            @Override
            public void onText(String delta) {
            }

            @Override
            public boolean cancelled() {
                return job.result().isDone();   // its caller gave up (timeout): the row leaves
            }
        };
        done.whenComplete((g, e) -> {
            if (e != null) {
                job.result().completeExceptionally(e);
            } else {
                job.result().complete(new Classification(result, g.text(), map));
            }
        });
        return explanation(emoVit, job.image(), result.label(), sink, job.deadlineNanos(), done);
    }

    /**
     * The one way the server explains a label, streamed or not: EmoVIT's question about it, decoded with
     * {@link ModelScheduler#EXPLANATION}'s settings and as {@link EmoVit#decodeAnswer} decodes answers.
     */
    static Job.Generate explanation(EmoVit emoVit, RgbImage image, String label, TokenSink sink, long deadlineNanos,
                                    CompletableFuture<Generation> done) {
        GenerationRow row = new GenerationRow(ModelScheduler.EXPLANATION.maxNewTokens(), List.of(),
                emoVit.processor().llmTokenizer().eosId(), emoVit::decodeAnswer, sink, deadlineNanos);
        return new Job.Generate(image, Prompts.explanationQuestion(label), ModelScheduler.EXPLANATION, row, deadlineNanos, done);
    }

    void complete(Job.Generate job, int promptTokens) {
        Generation g = job.row().result(promptTokens);
        if (g.finishReason().equals("cancelled")) {
            metrics.cancelled();
        }
        answer(job.result(), g);
    }

    <T> void answer(CompletableFuture<T> f, T value) {
        callbacks.execute(() -> f.complete(value));
    }

    void fail(Job j, Throwable e) {
        callbacks.execute(() -> j.result().completeExceptionally(e));
    }
}
