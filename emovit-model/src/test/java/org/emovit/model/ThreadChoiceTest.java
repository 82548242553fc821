package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.quant.Quantization;
import org.junit.jupiter.api.Test;

class ThreadChoiceTest {

    @Test
    void candidatesHalveTheCoresDownToOne() {
        assertThat(ThreadChoice.candidates(16)).containsExactly(16, 8, 4, 2, 1);
        assertThat(ThreadChoice.candidates(6)).containsExactly(6, 3, 1);
        assertThat(ThreadChoice.candidates(1)).containsExactly(1);
    }

    @Test
    void theFastestDecodeWinsAmongCountsWhosePrefillIsCloseToTheBest() {
        List<Integer> counts = List.of(4, 2, 1);
        // 1 thread decodes fastest but prefills 3x slower: 2 threads, within 25 % of 4's prefill, decode faster than 4
        assertThat(ThreadChoice.choose(counts, new double[] {5.0, 4.0, 3.0}, new double[] {100, 120, 300})).isEqualTo(2);
        // the AVX2 machine's f32 case: 1 thread decodes faster and prefills about as fast
        assertThat(ThreadChoice.choose(counts, new double[] {9.0, 8.0, 6.0}, new double[] {100, 105, 110})).isEqualTo(1);
        // all cores best at both
        assertThat(ThreadChoice.choose(counts, new double[] {2.0, 3.0, 5.0}, new double[] {50, 90, 170})).isEqualTo(4);
    }

    @Test
    void aSmallModelKeepsTheDefaultAndAFullWidthOneIsMeasuredOnceAndSet() {
        int before = torch.get_num_threads();
        LlamaConfig tiny = new LlamaConfig(48, 96, 2, 4, 4, 12, 514, 1e-6, 10000.0, 256, false, 1, 2, 0);
        ThreadChoice small = ThreadChoice.apply(tiny, ScalarType.Float, Quantization.NONE, new Device("cpu"));
        assertThat(small.threads()).isZero();
        assertThat(torch.get_num_threads()).isEqualTo(before);

        LlamaConfig wide = new LlamaConfig(4096, 11008, 1, 32, 32, 128, 514, 1e-6, 10000.0, 2048, false, 1, 2, 0);
        // every count from the processors the JVM sees down to 1, whatever libtorch's default (1 on some VMs)
        assertThat(ThreadChoice.cores()).isGreaterThanOrEqualTo(Runtime.getRuntime().availableProcessors());
        for (Quantization q : new Quantization[] {Quantization.INT8, Quantization.INT4}) {
            ThreadChoice measured = ThreadChoice.apply(wide, ScalarType.BFloat16, q, new Device("cpu"));
            System.out.println(measured.reason());
            assertThat(ThreadChoice.candidates(ThreadChoice.cores())).contains(measured.threads());
            assertThat(torch.get_num_threads()).isEqualTo(measured.threads());
            String name = q.name().toLowerCase(java.util.Locale.ROOT);
            assertThat(measured.reason()).startsWith("threads: " + measured.threads() + ", measured").contains("[1,4096]x[4096,11008]")
                    .contains(" " + name + " product per thread count: ");
            for (int count : ThreadChoice.candidates(ThreadChoice.cores())) {
                assertThat(measured.reason()).containsPattern("[:,] " + count + ": [0-9.]+ / [0-9.]+ ms");
            }
            assertThat(ThreadChoice.apply(wide, ScalarType.BFloat16, q, new Device("cpu"))).isSameAs(measured);   // once per shape
        }
        torch.set_num_threads(before);
    }

    /** libtorch's float32 matmuls run on OpenBLAS, whose thread count is its own: set takes both to the same count. */
    @Test
    void setGivesOpenBlasTheSameCount() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("OPENBLAS_NUM_THREADS") == null, "OPENBLAS_NUM_THREADS decides");
        int before = torch.get_num_threads();
        for (int n : new int[] {1, 2, 1}) {
            ThreadChoice.set(n);
            assertThat(torch.get_num_threads()).isEqualTo(n);
            assertThat(org.bytedeco.openblas.presets.openblas_nolapack.blas_get_num_threads()).isEqualTo(n);
        }
        ThreadChoice.set(before);
    }
}
