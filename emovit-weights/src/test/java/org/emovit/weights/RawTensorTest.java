package org.emovit.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class RawTensorTest {

    @Test
    void dtypeNamesRoundTrip() {
        for (DType t : DType.values()) {
            assertThat(DType.fromSafetensors(t.safetensorsName())).isEqualTo(t);
        }
        assertThat(DType.BF16.byteSize()).isEqualTo(2);
        assertThat(DType.I64.byteSize()).isEqualTo(8);
        assertThat(DType.BOOL.byteSize()).isEqualTo(1);
        assertThatThrownBy(() -> DType.fromSafetensors("F8_E4M3"))
                .isInstanceOf(WeightsException.class).hasMessageContaining("F8_E4M3");
    }

    @Test
    void floatsAndLongsHelpers() {
        RawTensor f = RawTensor.ofFloats(new long[] {2, 2}, new float[] {1, -2, 3.5f, 0});
        assertThat(f.dtype()).isEqualTo(DType.F32);
        assertThat(f.numel()).isEqualTo(4);
        assertThat(f.nbytes()).isEqualTo(16);
        assertThat(f.toFloatArray()).containsExactly(1, -2, 3.5f, 0);
        assertThat(f.data().order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
        assertThat(f.data().getFloat(8)).isEqualTo(3.5f);

        RawTensor l = RawTensor.ofLongs(new long[] {3}, new long[] {-1, 5, Long.MAX_VALUE});
        assertThat(l.toLongArray()).containsExactly(-1, 5, Long.MAX_VALUE);
        assertThat(l.toFloatArray()).containsExactly(-1f, 5f, (float) Long.MAX_VALUE);
        assertThatThrownBy(f::toLongArray).isInstanceOf(WeightsException.class).hasMessageContaining("F32");
        assertThatThrownBy(() -> RawTensor.ofFloats(new long[] {3}, new float[2]))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void scalarHasOneElement() {
        RawTensor s = RawTensor.ofFloats(new long[0], new float[] {4});
        assertThat(s.numel()).isEqualTo(1);
        assertThat(s.rank()).isZero();
    }

    @Test
    void halfAndBfloat16Widen() {
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal 0x0001, +inf 0x7C00
        ByteBuffer h = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        h.putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x7BFF).putShort((short) 0x0001)
                .putShort((short) 0x7C00).flip();
        assertThat(new RawTensor(DType.F16, new long[] {5}, h).toFloatArray())
                .containsExactly(1f, -2f, 65504f, 0x1p-24f, Float.POSITIVE_INFINITY);
        // BF16: 1.0 = 0x3F80, -2.5 = 0xC020
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0x3F80).putShort((short) 0xC020).flip();
        assertThat(new RawTensor(DType.BF16, new long[] {2}, b).toFloatArray()).containsExactly(1f, -2.5f);
    }

    @Test
    void integerTypesConvert() {
        byte[] bytes = {(byte) 0xff, 1, 0, 7};
        assertThat(RawTensor.of(DType.I8, new long[] {4}, bytes).toLongArray()).containsExactly(-1, 1, 0, 7);
        assertThat(RawTensor.of(DType.U8, new long[] {4}, bytes).toLongArray()).containsExactly(255, 1, 0, 7);
        assertThat(RawTensor.of(DType.BOOL, new long[] {4}, bytes).toFloatArray()).containsExactly(1, 1, 0, 1);
        assertThat(RawTensor.of(DType.I16, new long[] {2}, bytes).toLongArray()).containsExactly(0x01ff, 0x0700);
        assertThat(RawTensor.of(DType.I32, new long[] {1}, bytes).toLongArray()).containsExactly(0x070001ffL);
    }

    @Test
    void constructorChecksByteCountAndTakesRemainingBytes() {
        assertThatThrownBy(() -> new RawTensor(DType.F32, new long[] {2}, ByteBuffer.allocate(7)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected 8");
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        b.putFloat(0, 9).putFloat(4, 1).putFloat(8, 2);
        b.position(4);
        RawTensor t = new RawTensor(DType.F32, new long[] {2}, b);
        assertThat(t.toFloatArray()).containsExactly(1, 2);
    }

    @Test
    void accessorsReturnIndependentViews() {
        RawTensor t = RawTensor.ofFloats(new long[] {2}, new float[] {1, 2});
        ByteBuffer d = t.data();
        d.getFloat();
        assertThat(t.data().position()).isZero();
        t.shape()[0] = 99;
        assertThat(t.shape()).containsExactly(2);
        assertThat(t).isEqualTo(RawTensor.ofFloats(new long[] {2}, new float[] {1, 2}));
        assertThat(t).isNotEqualTo(RawTensor.ofFloats(new long[] {2}, new float[] {1, 3}));
        assertThat(t).isNotEqualTo(RawTensor.ofFloats(new long[] {1, 2}, new float[] {1, 2}));
    }
}
