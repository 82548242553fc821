package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/** The places where the models route around a slow libtorch path, or take a shorter one, give what the plain path gives. */
class OpsTest {
    private static final Device CPU = new Device("cpu");

    private static double maxAbsDiff(Tensor a, Tensor b) {
        return a.to(ScalarType.Float).sub(b.to(ScalarType.Float)).abs().max().item_double();
    }

    @Test
    void libtorchRmsNormIsHfsFormulaBitForBitInFloat32() {
        // LlamaDecoder calls rms_norm in float32 on this guarantee (a libtorch upgrade that breaks it fails here).
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(3);
            Tensor x = torch.randn(new long[] {3, 5, 48}, Tensors.options(ScalarType.Float, CPU)).mul(Ops.scalar(4));
            Tensor w = torch.randn(new long[] {48}, Tensors.options(ScalarType.Float, CPU));
            Tensor hf = x.mul(x.square().mean(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional())
                    .add(Ops.scalar(1e-6)).rsqrt()).mul(w);
            Tensor fused = torch.rms_norm(x, new long[] {48}, new org.bytedeco.pytorch.TensorOptional(w),
                    new org.bytedeco.pytorch.DoubleOptional(1e-6));
            assertThat(torch.equal(hf, fused)).isTrue();
        }
    }

    @Test
    void bf16AttentionOnTheCpuMatchesFloat32Sdpa() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(7);
            Tensor q = torch.randn(new long[] {2, 4, 9, 16}, Tensors.options(ScalarType.Float, CPU));
            Tensor k = torch.randn(new long[] {2, 4, 11, 16}, Tensors.options(ScalarType.Float, CPU));
            Tensor v = torch.randn(new long[] {2, 4, 11, 16}, Tensors.options(ScalarType.Float, CPU));
            // Row 0 of batch 1 sees nothing (a left-padded query row): uniform weights, as SDPA, not NaN.
            long[][] key = {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
            Tensor keyMask = torch.tensor(key[0]).view(1, 11).repeat(2, 1);
            keyMask.select(0, 1).copy_(torch.tensor(key[1]));
            Tensor maskF = Ops.keyMaskBias(keyMask, ScalarType.Float);
            Tensor maskB = Ops.keyMaskBias(keyMask, ScalarType.BFloat16);

            Tensor reference = Ops.attention(q, k, v, maskF, 0.25);   // float32: libtorch's SDPA
            Tensor bf16 = Ops.attention(q.to(ScalarType.BFloat16), k.to(ScalarType.BFloat16), v.to(ScalarType.BFloat16), maskB, 0.25);

            assertThat(bf16.scalar_type().intern()).isEqualTo(ScalarType.BFloat16);
            assertThat(bf16.isnan().any().item_bool()).isFalse();
            assertThat(maxAbsDiff(bf16, reference)).isLessThan(0.03).isGreaterThan(0.0);
            Tensor noMask = Ops.attention(q.to(ScalarType.BFloat16), k.to(ScalarType.BFloat16), v.to(ScalarType.BFloat16), null, 0.25);
            assertThat(maxAbsDiff(noMask, Ops.attention(q, k, v, null, 0.25))).isLessThan(0.03);
            // The masked keys really are ignored: changing their values changes nothing.
            Tensor v2 = v.clone();
            v2.narrow(2, 0, 2).fill_(new org.bytedeco.pytorch.Scalar(100.0));
            Tensor again = Ops.attention(q.to(ScalarType.BFloat16), k.to(ScalarType.BFloat16), v2.to(ScalarType.BFloat16), maskB, 0.25);
            assertThat(maxAbsDiff(again.select(0, 1).narrow(1, 0, 9), bf16.select(0, 1).narrow(1, 0, 9))).isEqualTo(0.0);
        }
    }

    @Test
    void longSequencesGoThroughTheEagerAttentionInBlocksWithTheSameResult() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(11);
            org.bytedeco.pytorch.TensorOptions bf16 = Tensors.options(ScalarType.BFloat16, CPU);
            Tensor q = torch.randn(new long[] {2, 3, 37, 8}, bf16);
            Tensor k = torch.randn(new long[] {2, 3, 37, 8}, bf16);
            Tensor v = torch.randn(new long[] {2, 3, 37, 8}, bf16);
            Tensor causal = CausalMask.bias(torch.ones(new long[] {2, 37}, Tensors.options(ScalarType.Long, CPU)), null, 37,
                    ScalarType.BFloat16, CPU, null);
            Tensor whole = Ops.attention(q, k, v, causal, 0.3);
            long perRow = 2 * 3 * 37 * 8;
            for (long rows : new long[] {1, 5, 36}) {   // blocks of 1, 5 (the last one shorter) and 36 rows
                Tensor blocked = Ops.eagerAttention(q, k, v, causal, 0.3, rows * perRow);
                assertThat(blocked.sizes().vec().get()).containsExactly(2, 3, 37, 8);
                assertThat(maxAbsDiff(blocked, whole)).as("blocks of %d rows", rows).isEqualTo(0.0);
            }
            Tensor decodeMask = Ops.keyMaskBias(torch.ones(new long[] {2, 37}, Tensors.options(ScalarType.Long, CPU)), ScalarType.BFloat16);
            assertThat(maxAbsDiff(Ops.eagerAttention(q, k, v, decodeMask, 0.3, 4 * perRow), Ops.attention(q, k, v, decodeMask, 0.3)))
                    .isEqualTo(0.0);
        }
    }

    @Test
    void aPositionCutOutOfASequenceGoesThroughLinearAsAContiguousRow() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(3);
            for (ScalarType type : new ScalarType[] {ScalarType.Float, ScalarType.BFloat16}) {
                Tensor hidden = torch.randn(new long[] {3, 7, 32}, Tensors.options(type, CPU));
                Tensor w = torch.randn(new long[] {40, 32}, Tensors.options(type, CPU));
                Tensor b = torch.randn(new long[] {40}, Tensors.options(type, CPU));
                Tensor last = Ops.slice(hidden, 1, 6, 7);
                Tensor out = Ops.linear(last, w, b);
                assertThat(out.sizes().vec().get()).containsExactly(3, 1, 40);
                assertThat(maxAbsDiff(out, torch.linear(last.contiguous().clone(), w, new org.bytedeco.pytorch.TensorOptional(b))))
                        .isEqualTo(0.0);
                Tensor one = Ops.slice(hidden.narrow(0, 0, 1), 1, 6, 7);   // [1, 1, D] with the strides of [1, 7, D]
                assertThat(maxAbsDiff(Ops.linear(one, w, null), torch.linear(one.reshape(1, 1, 32).clone(), w))).isEqualTo(0.0);
            }
        }
    }
}
