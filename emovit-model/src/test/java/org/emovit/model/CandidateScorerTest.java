package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.BeamSearch;
import org.emovit.generate.CandidateScorer;
import org.emovit.generate.GenerationConfig;
import org.emovit.generate.GreedyDecoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Score mode and beam search against direct computations on the tiny model. */
class CandidateScorerTest {
    static final Device CPU = new Device("cpu");
    static NoGradGuard noGrad;
    static InstructBlip model;

    @BeforeAll
    static void load() {
        noGrad = new NoGradGuard();
        model = InstructBlipLoader.load(ModelSource.huggingFace(Fixtures.tinyA().resolve("hf")), ScalarType.Float, CPU);
    }

    @AfterAll
    static void close() {
        model.close();
        noGrad.close();
    }

    /** sum log p(candidate | context) from one uncached forward over context ++ candidate. */
    static double direct(long[] context, long[] candidate) {
        LlamaDecoder lm = model.languageModel();
        long[] seq = Arrays.copyOf(context, context.length + candidate.length);
        System.arraycopy(candidate, 0, seq, context.length, candidate.length);
        Tensor pos = torch.arange(new Scalar(seq.length), Tensors.options(ScalarType.Long, CPU)).unsqueeze(0);
        Tensor hidden = lm.forward(lm.embed(Tensors.fromLongs(seq, 1, seq.length)),
                torch.ones(new long[] {1, seq.length}, Tensors.options(ScalarType.Long, CPU)), pos, null);
        float[] logp = Tensors.toFloats(torch.log_softmax(lm.logits(hidden), -1));
        int vocab = (int) lm.config().vocabSize();
        double sum = 0;
        for (int j = 0; j < candidate.length; j++) {
            sum += logp[(context.length - 1 + j) * vocab + (int) candidate[j]];
        }
        return sum;
    }

    @Test
    void batchedCachedScoresEqualDirectLogLikelihoods() {
        long[] a = {2, 17, 300, 41, 99, 7, 250};
        long[] b = {2, 88, 12};
        List<long[]> candidates = List.of(
                new long[] {400, 401, 402, 55, 2}, new long[] {400, 401, 402, 56, 57, 2}, new long[] {400, 401, 402, 300, 2},
                new long[] {400, 401, 402, 12, 13, 14, 2});
        long pad = 512;
        long[][] ids = {a, {pad, pad, pad, pad, 2, 88, 12}};
        long[][] mask = {{1, 1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 1, 1, 1}};
        LlamaDecoder lm = model.languageModel();
        double[][] scores = new CandidateScorer(lm).logLikelihoods(lm.embed(Tensors.fromLongs(ids)), Tensors.fromLongs(mask), candidates);
        for (int c = 0; c < candidates.size(); c++) {
            assertThat(scores[0][c]).isCloseTo(direct(a, candidates.get(c)), within(1e-4));
            assertThat(scores[1][c]).isCloseTo(direct(b, candidates.get(c)), within(1e-4));
        }
        double[] p = CandidateScorer.softmax(scores[0]);
        assertThat(Arrays.stream(p).sum()).isCloseTo(1.0, within(1e-9));
    }

    @Test
    void candidatesWithoutACommonPrefixScoreTheSame() {
        long[] a = {2, 17, 300, 41};
        List<long[]> candidates = List.of(new long[] {5, 2}, new long[] {6, 7, 2});
        LlamaDecoder lm = model.languageModel();
        double[][] scores = new CandidateScorer(lm).logLikelihoods(lm.embed(Tensors.fromLongs(a, 1, a.length)),
                Tensors.fromLongs(new long[] {1, 1, 1, 1}, 1, 4), candidates);
        assertThat(scores[0][0]).isCloseTo(direct(a, candidates.get(0)), within(1e-4));
        assertThat(scores[0][1]).isCloseTo(direct(a, candidates.get(1)), within(1e-4));
    }

    @Test
    void oneBeamIsGreedyAndMoreBeamsFindAtLeastAsLikelyAnAnswer() {
        long[] a = {2, 17, 300, 41, 99, 7, 250};
        LlamaDecoder lm = model.languageModel();
        Tensor embeds = lm.embed(Tensors.fromLongs(a, 1, a.length));
        Tensor mask = Tensors.fromLongs(new long[] {1, 1, 1, 1, 1, 1, 1}, 1, 7);
        GenerationConfig one = new GenerationConfig(1, 10, 0, 1.0, 1.0);
        long[] greedy = new GreedyDecoder(lm, 2, 512).generate(embeds, mask, one, null)[0];
        long[] beam = new BeamSearch(lm, 2).generate(embeds, mask, one);
        assertThat(beam).containsExactly(greedy);

        long[] wide = new BeamSearch(lm, 2).generate(embeds, mask, one.withNumBeams(4));
        assertThat(wide).isNotEmpty();
        double perTokenWide = direct(a, wide) / wide.length;
        double perTokenGreedy = direct(a, greedy) / greedy.length;
        assertThat(perTokenWide).isGreaterThanOrEqualTo(perTokenGreedy - 1e-6);
    }
}
