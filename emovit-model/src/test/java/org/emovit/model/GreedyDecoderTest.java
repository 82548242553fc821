package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.GreedyDecoder;
import org.junit.jupiter.api.Test;

/** The KV cache and left padding change nothing about which tokens greedy decoding picks. */
class GreedyDecoderTest {

    static long[] decodeWithoutCache(LlamaDecoder lm, long[] context, int n) {
        long[] seq = java.util.Arrays.copyOf(context, context.length + n);
        for (int i = 0; i < n; i++) {
            int len = context.length + i;
            Tensor ids = Tensors.fromLongs(java.util.Arrays.copyOf(seq, len), 1, len);
            Tensor pos = torch.arange(new Scalar(len), Tensors.options(ScalarType.Long, new Device("cpu"))).unsqueeze(0);
            Tensor hidden = lm.forward(lm.embed(ids), torch.ones(new long[] {1, len}, Tensors.options(ScalarType.Long, new Device("cpu"))), pos, null);
            Tensor last = Ops.slice(hidden, 1, len - 1, len);
            seq[len] = Tensors.toLongs(lm.logits(last).argmax(new LongOptional(-1), false))[0];
        }
        return java.util.Arrays.copyOfRange(seq, context.length, seq.length);
    }

    @Test
    void cachedLeftPaddedBatchEqualsRecomputingEachSequenceAlone() {
        try (NoGradGuard g = new NoGradGuard();
             InstructBlip m = InstructBlipLoader.load(ModelSource.huggingFace(Fixtures.tinyA().resolve("hf")), ScalarType.Float, new Device("cpu"))) {
            LlamaDecoder lm = m.languageModel();
            long[] a = {2, 17, 300, 41, 99, 7, 250};
            long[] b = {2, 88, 12};
            int n = 8;
            long[] aloneA = decodeWithoutCache(lm, a, n);
            long[] aloneB = decodeWithoutCache(lm, b, n);

            long pad = 512;
            long[][] ids = {a, {pad, pad, pad, pad, 2, 88, 12}};
            long[][] mask = {{1, 1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 1, 1, 1}};
            Tensor embeds = lm.embed(Tensors.fromLongs(ids));
            long[][] out = new GreedyDecoder(lm, -1, pad).generate(embeds, Tensors.fromLongs(mask), n, null);
            assertThat(out[0]).containsExactly(aloneA);
            assertThat(out[1]).containsExactly(aloneB);
        }
    }
}
