package org.emovit.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.emovit.model.Tensors;
import org.junit.jupiter.api.Test;

/** Sampling: seeded draws repeat, every row draws alone, a tiny top_p is greedy, and bad settings are refused. */
class TokenSamplerTest {

    static long[] draw(Sampling s, float[] scores, int rows, int steps) {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = Tensors.fromFloats(scores, rows, scores.length / rows);
            TokenSampler sampler = new TokenSampler(s, rows);
            long[] out = new long[rows * steps];
            for (int i = 0; i < steps; i++) {
                long[] step = sampler.next(t);
                System.arraycopy(step, 0, out, i * rows, rows);
            }
            return out;
        }
    }

    @Test
    void theSameSeedDrawsTheSameTokensWhateverTheBatch() {
        float[] one = {1f, 0.5f, 0.2f, 0.9f, 1.1f};
        float[] two = new float[10];
        System.arraycopy(one, 0, two, 0, 5);
        System.arraycopy(new float[] {5f, 0f, 0f, 0f, 0f}, 0, two, 5, 5);
        long[] alone = draw(new Sampling(1.0, 1.0, 42), one, 1, 50);
        long[] batched = draw(new Sampling(1.0, 1.0, 42), two, 2, 50);
        for (int i = 0; i < 50; i++) {
            assertThat(batched[2 * i]).isEqualTo(alone[i]);
        }
        assertThat(java.util.Arrays.stream(alone).distinct().count()).isGreaterThan(1);
    }

    @Test
    void aTinyTopPKeepsOnlyTheBestToken() {
        long[] tokens = draw(new Sampling(2.0, 1e-6, 1), new float[] {0.1f, 3f, 2.9f, -1f}, 1, 30);
        assertThat(tokens).containsOnly(1L);
    }

    @Test
    void badSettingsAreRefused() {
        assertThatThrownBy(() -> new Sampling(0, 1, 1)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampling(1, 1.5, 1)).hasMessageContaining("top_p");
        assertThatThrownBy(() -> GenerationConfig.lavis().withSampling(new Sampling(1, 1, 1))).hasMessageContaining("one beam");
    }
}
