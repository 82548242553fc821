package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.emovit.api.ModelSpec;
import org.junit.jupiter.api.Test;

/** {@code --dtype auto}: the rule, on the CPUs this project's machines have, and what the embedded model gets. */
class PrecisionChoiceTest {
    private static final CpuInfo AVX512_BF16 = new CpuInfo("AMD EPYC", 2, List.of("avx2", "fma", "avx512f", "avx512_bf16"), "AVX512");
    private static final CpuInfo AVX2_ONLY = new CpuInfo("AMD EPYC", 2, List.of("avx2", "fma"), "AVX2");
    private static final InstructBlipConfig SEVEN_B = InstructBlipConfig.vicuna7b();
    private static final long GB = 1_000_000_000L;

    @Test
    void sevenBRunsBf16WhereTheCpuHasNativeBf16AndF32OverInt8WhereItHasNot() {
        PrecisionChoice bf16 = PrecisionChoice.choose(SEVEN_B, false, false, AVX512_BF16, 22 * GB);
        assertThat(bf16.precision()).isEqualTo(Precision.BF16);
        assertThat(bf16.reason()).contains("avx512_bf16");

        PrecisionChoice int8 = PrecisionChoice.choose(SEVEN_B, false, true, AVX2_ONLY, 22 * GB);
        assertThat(int8.precision()).isEqualTo(Precision.F32);
        assertThat(int8.reason()).contains("no native bf16");
    }

    @Test
    void f32ThatWouldNotFitFallsBackToBf16StorageWithAHint() {
        // 7B in f32 is about 31 GB: more than a 24 GB machine has.
        assertThat(PrecisionChoice.floatWeightBytes(SEVEN_B, false, 4)).isBetween(28.0 * GB, 34.0 * GB);
        PrecisionChoice choice = PrecisionChoice.choose(SEVEN_B, false, false, AVX2_ONLY, 22 * GB);
        assertThat(choice.precision()).isEqualTo(Precision.BF16);
        assertThat(choice.reason()).contains("would not fit").contains("--quantize int8");
        // With the LLM int8 the rest in f32 is about 6 GB + 6.5 GB of int8: it fits.
        assertThat(PrecisionChoice.floatWeightBytes(SEVEN_B, true, 4)).isLessThan(14.0 * GB);
    }

    @Test
    void smallModelsAndCudaAndExplicitTypes() {
        InstructBlipConfig tiny = ModelSpec.embedded().sizes();
        assertThat(PrecisionChoice.choose(tiny, false, false, AVX512_BF16, 22 * GB).precision()).isEqualTo(Precision.F32);
        assertThat(PrecisionChoice.choose(SEVEN_B, true, false, AVX2_ONLY, 22 * GB).precision()).isEqualTo(Precision.BF16);
        assertThat(PrecisionChoice.of("bf16", null, false, false).precision()).isEqualTo(Precision.BF16);
        assertThat(PrecisionChoice.of("FP32", null, false, false).precision()).isEqualTo(Precision.F32);
        // The commands' default on the embedded model: f32, whatever this machine's CPU (the references are f32).
        ModelSpec auto = new ModelSpec(null, null, null, null, "vicuna7b", null, null, null, "auto", "cpu");
        assertThat(auto.precision()).isEqualTo(Precision.F32);
        assertThat(auto.dtypeName()).isEqualTo("f32");
    }
}
