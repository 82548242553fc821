package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

class PrecisionTest {

    @Test
    void theNamesUsersGiveMapToOnePrecisionEach() {
        for (String name : new String[] {"f32", "fp32", "float32", "F32", "Float32"}) {
            assertThat(Precision.parse(name)).as(name).isEqualTo(Precision.F32);
        }
        for (String name : new String[] {"bf16", "bfloat16", "BF16"}) {
            assertThat(Precision.parse(name)).as(name).isEqualTo(Precision.BF16);
        }
        assertThat(Precision.parse(null)).isEqualTo(Precision.F32);
    }

    @Test
    void anUnknownNameIsRefusedNamingTheOption() {
        assertThatThrownBy(() -> Precision.parse("f16")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--dtype must be f32, bf16 or auto, not 'f16'");
    }

    @Test
    void eachPrecisionHasItsTorchTypeAndNames() {
        assertThat(Precision.F32.scalarType()).isEqualTo(ScalarType.Float);
        assertThat(Precision.BF16.scalarType()).isEqualTo(ScalarType.BFloat16);
        assertThat(Precision.of(ScalarType.BFloat16)).isEqualTo(Precision.BF16);
        assertThat(Precision.F32).hasToString("f32");
        assertThat(Precision.BF16).hasToString("bf16");
        assertThat(Precision.BF16.torchName()).isEqualTo("bfloat16");
        assertThat(Precision.F32.torchName()).isEqualTo("float32");
        assertThat(Precision.BF16.bytes()).isEqualTo(2);
        assertThat(Precision.F32.bytes()).isEqualTo(4);
    }
}
