package org.emovit.devtools.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Q8_0 and Q4_0 blocks byte for byte where the answer is known by hand, and within the format's error otherwise. */
class GgufBlocksTest {

    private static byte[] encode(GgmlType type, float[] x) {
        ByteBuffer b = ByteBuffer.allocate((int) type.bytes(x.length)).order(ByteOrder.LITTLE_ENDIAN);
        type.encode(x, 0, x.length, b);
        assertThat(b.hasRemaining()).isFalse();
        return b.array();
    }

    @Test
    void q8_0ScaleIsMaxOver127AndHalvesRoundAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127f;            // amax 127: d = 1 exactly, so x * (1/d) is x and the rounding is visible
        x[1] = -2.5f;           // C's roundf: -3 (Java's Math.round would give -2)
        x[2] = 2.5f;
        x[3] = -0.5f;
        x[4] = 0.49999997f;
        x[5] = -126.5f;
        x[6] = 10.25f;
        byte[] b = encode(GgmlType.Q8_0, x);
        assertThat(b).hasSize(34);
        assertThat(b[0] & 0xff | (b[1] & 0xff) << 8).isEqualTo(0x3c00);   // fp16 1.0, little-endian
        assertThat(new byte[] {b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]})
                .containsExactly(127, -3, 3, -1, 0, -127, 10, 0);
    }

    @Test
    void q4_0KeepsTheSignOfTheLargestValueAndPutsElementsJAndJPlus16InOneByte() {
        float[] x = new float[32];
        for (int j = 0; j < 16; j++) {
            x[j] = j - 8;            // x[0] = -8 is the largest magnitude: d = -8 / -8 = 1, q = x + 8 = j
            x[16 + j] = 7 - j;       // q = 15 - j
        }
        byte[] b = encode(GgmlType.Q4_0, x);
        assertThat(b).hasSize(18);
        assertThat(b[0] & 0xff | (b[1] & 0xff) << 8).isEqualTo(0x3c00);
        for (int j = 0; j < 16; j++) {
            assertThat(b[2 + j] & 0xff).as("byte %d", j).isEqualTo(j | (15 - j) << 4);
        }
        x[0] = 8;                    // now +8 is the largest: d = -1, and -8 ... 7 map to 15 ... 0, clamped at 15
        byte[] flipped = encode(GgmlType.Q4_0, x);
        assertThat(flipped[0] & 0xff | (flipped[1] & 0xff) << 8).isEqualTo(0xbc00);
        assertThat(flipped[2] & 0x0f).isEqualTo(0);                 // 8 / -1 + 8.5 = 0.5 -> 0: exactly -8 * d
        assertThat(flipped[3] & 0x0f).isEqualTo(15);                // -7 / -1 + 8.5 = 15.5 -> 15
        assertThat((flipped[2] & 0xff) >>> 4).isEqualTo(1);         // element 16 = 7: 1.5 -> 1
        assertThat((flipped[17] & 0xff) >>> 4).isEqualTo(15);       // element 31 = -8: 16.5 -> 16, clamped to 15
    }

    @Test
    void randomBlocksDecodeWithinTheFormatsError() {
        SplittableRandom random = new SplittableRandom(11);
        float[] x = new float[32 * 4096];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * 0.02 * (1 + (i / 32) % 7));   // blocks of different scales
        }
        float[] q8 = decode(GgmlType.Q8_0, x), q4 = decode(GgmlType.Q4_0, x), f16 = decode(GgmlType.F16, x);
        double q8Sq = 0, q4Sq = 0, sq = 0;
        for (int blk = 0; blk < x.length; blk += 32) {
            float amax = 0f;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[blk + j]));
            }
            float d8 = amax / 127, d4 = amax / 8;
            for (int j = blk; j < blk + 32; j++) {
                // half a step, plus the scale's own fp16 rounding (relative 2^-11) times the largest code
                assertThat((double) Math.abs(q8[j] - x[j])).as("Q8_0 %d", j).isLessThanOrEqualTo(d8 / 2 + amax * 0x1p-11 + 1e-9);
                // Q4_0: half a step, except that the clamp at +7 costs up to a whole step on the side opposite the max
                assertThat((double) Math.abs(q4[j] - x[j])).as("Q4_0 %d", j).isLessThanOrEqualTo(d4 + amax * 0x1p-11 + 1e-9);
                assertThat((double) Math.abs(f16[j] - x[j])).as("F16 %d", j).isLessThanOrEqualTo(Math.abs(x[j]) * 0x1p-11 + 0x1p-25);
                q8Sq += (q8[j] - x[j]) * (q8[j] - x[j]);
                q4Sq += (q4[j] - x[j]) * (q4[j] - x[j]);
                sq += x[j] * x[j];
            }
        }
        // the typical error, relative to the values: uniform rounding over steps of amax/127 and amax/8 (amax about
        // 2.2 sigma of a Gaussian block of 32), so about 0.5% and 8%; a wrong scale or a swapped nibble would be 30%+
        assertThat(Math.sqrt(q8Sq / sq)).isBetween(0.002, 0.008);
        assertThat(Math.sqrt(q4Sq / sq)).isBetween(0.05, 0.12);
    }

    @Test
    void rowsMustHoldWholeBlocks() {
        assertThatThrownBy(() -> encode(GgmlType.Q8_0, new float[48]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blocks of 32");
        assertThat(GgmlType.parse("q4_0")).isEqualTo(GgmlType.Q4_0);
        assertThatThrownBy(() -> GgmlType.parse("Q5_K")).hasMessageContaining("known: F32, F16, Q8_0, Q4_0");
    }

    /** Encoded by the writer's code, decoded by the test reader's own dequantiser (via a one-tensor file). */
    private static float[] decode(GgmlType type, float[] x) {
        try {
            Path f = Files.createTempFile("blocks", ".gguf");
            try (GgufWriter w = new GgufWriter(f)) {
                w.addTensor("x", type, 32, x.length / 32);
                w.write(ByteBuffer.wrap(encode(type, x)));
            }
            float[] back = new GgufFile(f).values("x");
            Files.delete(f);
            return back;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
