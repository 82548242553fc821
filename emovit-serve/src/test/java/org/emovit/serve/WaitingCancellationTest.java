package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;
import org.junit.jupiter.api.Test;

/** A generation whose client leaves while it waits is answered as cancelled and costs no model pass. */
class WaitingCancellationTest {

    static final class GoneSink implements TokenSink {
        @Override
        public void onText(String delta) {
        }

        @Override
        public boolean cancelled() {
            return true;
        }
    }

    @Test
    void aGenerationCancelledWhileWaitingIsNeverPrefilled() throws Exception {
        ExecutorService callbacks = Executors.newSingleThreadExecutor();
        ServeMetrics metrics = new ServeMetrics();
        try (EmoVit emoVit = ModelSpec.embedded().open();
             ModelScheduler scheduler = new ModelScheduler(emoVit, ServerSettings.defaults(), metrics, callbacks)) {
            // Other decoding settings than the running one: it cannot join, it waits for the running batch to end.
            CompletableFuture<Generation> running = scheduler.generate(Fixtures.image("photo.jpg"), "Describe the mood.",
                    GenerationConfig.emovit().withMaxNewTokens(40), List.of(), TokenSink.NONE);
            CompletableFuture<Generation> gone = scheduler.generate(Fixtures.image("photo.jpg"), "Describe the mood.",
                    GenerationConfig.greedy(40), List.of(), new GoneSink());

            Generation g = gone.get(60, TimeUnit.SECONDS);
            assertThat(g.finishReason()).isEqualTo("cancelled");
            assertThat(g.completionTokens()).isZero();
            assertThat(running.get(60, TimeUnit.SECONDS).completionTokens()).isPositive();
            String scrape = metrics.scrape();
            assertThat(Fixtures.metric(scrape, "emovit_batch_size_sum{kind=\"generate\"")).as("only the running one was prefilled").isEqualTo(1);
            assertThat(Fixtures.metric(scrape, "emovit_cancelled_generations_total")).isEqualTo(1);
        } finally {
            callbacks.shutdown();
        }
    }
}
