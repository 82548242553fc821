package org.emovit.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class StridedTest {

    private static ByteBuffer iota(int n) {
        ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(i);
        }
        return b.flip();
    }

    private static float[] floats(ByteBuffer b) {
        float[] out = new float[b.capacity() / 4];
        b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    @Test
    void contiguity() {
        assertThat(Strided.isContiguous(new long[] {2, 3}, new long[] {3, 1})).isTrue();
        assertThat(Strided.isContiguous(new long[] {3, 2}, new long[] {1, 3})).isFalse();
        assertThat(Strided.isContiguous(new long[] {1, 4}, new long[] {99, 1})).as("size-1 dims may have any stride").isTrue();
        assertThat(Strided.isContiguous(new long[] {4, 1}, new long[] {1, 7})).isTrue();
        assertThat(Strided.isContiguous(new long[] {}, new long[] {})).isTrue();
        assertThat(Strided.isContiguous(new long[] {2, 2}, new long[] {0, 0})).isFalse();
        assertThat(Strided.isContiguous(new long[] {0, 5}, new long[] {1, 1})).isTrue();
        assertThat(Strided.isContiguous(new long[] {3}, new long[] {2})).isFalse();
    }

    @Test
    void extentCountsTheElementsAViewNeeds() {
        assertThat(Strided.extent(0, new long[] {2, 3}, new long[] {3, 1})).isEqualTo(6);
        assertThat(Strided.extent(2, new long[] {4}, new long[] {1})).isEqualTo(6);
        assertThat(Strided.extent(5, new long[] {}, new long[] {})).isEqualTo(6);
        assertThat(Strided.extent(0, new long[] {2, 2}, new long[] {0, 0})).isEqualTo(1);
        assertThat(Strided.extent(3, new long[] {0, 2}, new long[] {2, 1})).isZero();
    }

    /** A 3-D permutation checked against the definition storage[offset + sum(i_k * stride_k)]. */
    @Test
    void permutedViewMatchesTheDefinition() {
        long[] shape = {3, 4, 2};
        long[] stride = {1, 6, 3}; // permute(2?,..) of a packed (4, 2, 3) tensor at offset 5: some permutation
        long offset = 5;
        int need = (int) Strided.extent(offset, shape, stride);
        ByteBuffer storage = iota(need + 3);
        float[] got = floats(Strided.materialize(storage, 4, offset, shape, stride));
        float[] expected = new float[24];
        int n = 0;
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) {
                for (int k = 0; k < 2; k++) {
                    expected[n++] = offset + i * stride[0] + j * stride[1] + k * stride[2];
                }
            }
        }
        assertThat(got).containsExactly(expected);
    }

    @Test
    void rowSlicesAndExpandsAndScalars() {
        // rows of length 2 taken from rows of length 5: inner stride 1, block copies
        assertThat(floats(Strided.materialize(iota(15), 4, 1, new long[] {3, 2}, new long[] {5, 1})))
                .containsExactly(1, 2, 6, 7, 11, 12);
        // expand (stride 0) of one element
        assertThat(floats(Strided.materialize(iota(4), 4, 3, new long[] {2, 3}, new long[] {0, 0})))
                .containsExactly(3, 3, 3, 3, 3, 3);
        // broadcast a row: stride 0 on the outer dimension
        assertThat(floats(Strided.materialize(iota(3), 4, 0, new long[] {2, 3}, new long[] {0, 1})))
                .containsExactly(0, 1, 2, 0, 1, 2);
        assertThat(floats(Strided.materialize(iota(4), 4, 2, new long[] {}, new long[] {}))).containsExactly(2);
        assertThat(Strided.materialize(iota(4), 4, 0, new long[] {0, 3}, new long[] {3, 1}).capacity()).isZero();
    }

    @Test
    void otherElementSizes() {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        for (short i = 0; i < 4; i++) {
            b.putShort((short) (100 + i));
        }
        ByteBuffer out = Strided.materialize(b, 2, 0, new long[] {2, 2}, new long[] {1, 2}); // transpose 2x2
        assertThat(new short[] {out.getShort(0), out.getShort(2), out.getShort(4), out.getShort(6)})
                .containsExactly(100, 102, 101, 103);
    }

    @Test
    void viewsOutsideTheStorageAreRejected() {
        assertThatThrownBy(() -> Strided.materialize(iota(5), 4, 0, new long[] {3, 2}, new long[] {1, 3}))
                .isInstanceOf(WeightsException.class).hasMessageContaining("storage");
        assertThatThrownBy(() -> Strided.materialize(iota(5), 4, 0, new long[] {3}, new long[] {1, 1}))
                .isInstanceOf(WeightsException.class);
        assertThatThrownBy(() -> Strided.isContiguous(new long[] {3}, new long[] {-1}))
                .isInstanceOf(WeightsException.class);
    }
}
