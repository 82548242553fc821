package org.emovit.devtools.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** fp32 -> fp16 as ggml rounds it: to nearest, ties to even, checked against the format's own definition. */
class GgufHalfTest {

    @Test
    void everyHalfSurvivesTheRoundTripAndDecodesAsDefined() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            float f = org.emovit.weights.Half.toFloat(h);   // the project's one decoder, against the format's definition
            float defined = GgufFile.half(h);
            if (Float.isNaN(defined)) {
                assertThat(Float.isNaN(f)).as("0x%04x", bits).isTrue();
                assertThat(Half.fromFloat(f) & 0x7c00).isEqualTo(0x7c00);
                continue;
            }
            assertThat(Float.floatToRawIntBits(f)).as("0x%04x", bits).isEqualTo(Float.floatToRawIntBits(defined));
            assertThat(Half.fromFloat(f)).as("0x%04x", bits).isEqualTo(h);
        }
    }

    @Test
    void roundsToTheNearestHalfTiesToEven() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 2_000_000; i++) {
            // every exponent from far below the subnormals to past the largest half, random mantissas
            float f = Float.intBitsToFloat((random.nextInt(0x30000000, 0x48000000)) | (random.nextBoolean() ? 0x80000000 : 0));
            short h = Half.fromFloat(f);
            double err = Math.abs((double) GgufFile.half(h) - f);
            if (Float.isInfinite(GgufFile.half(h))) {
                assertThat(Math.abs(f)).as("%s", f).isGreaterThanOrEqualTo(65520f);
                continue;
            }
            for (int step : new int[] {-1, 1}) {
                short other = (short) (h + step);
                if ((other & 0x7fff) >= 0x7c00 || ((h & 0x7fff) == 0 && step < 0)) {
                    continue;   // past the largest finite half, or across zero
                }
                double otherErr = Math.abs((double) GgufFile.half(other) - f);
                assertThat(err).as("%s -> 0x%04x vs 0x%04x", f, h, other).isLessThanOrEqualTo(otherErr);
                if (err == otherErr) {
                    assertThat(h & 1).as("tie %s goes to the even neighbour", f).isZero();
                }
            }
        }
    }

    @Test
    void edgeCases() {
        assertThat(Half.fromFloat(65504f)).isEqualTo((short) 0x7bff);
        assertThat(Half.fromFloat(65519.996f)).isEqualTo((short) 0x7bff);
        assertThat(Half.fromFloat(65520f)).isEqualTo((short) 0x7c00);
        assertThat(Half.fromFloat(-1e9f)).isEqualTo((short) 0xfc00);
        assertThat(Half.fromFloat(1f + 0x1p-11f)).isEqualTo((short) 0x3c00);       // tie, down to even
        assertThat(Half.fromFloat(1f + 3 * 0x1p-11f)).isEqualTo((short) 0x3c02);   // tie, up to even
        assertThat(Half.fromFloat(0x1p-24f)).isEqualTo((short) 0x0001);
        assertThat(Half.fromFloat(0x1p-25f)).isEqualTo((short) 0x0000);            // tie with 2^-24: zero is even
        assertThat(Half.fromFloat(0x1.8p-25f)).isEqualTo((short) 0x0001);
        assertThat(Half.fromFloat(0x1.ffcp-15f)).isEqualTo((short) 0x0400);       // subnormal rounding up to 2^-14
        assertThat(Half.fromFloat(-0f)).isEqualTo((short) 0x8000);
        assertThat(Half.fromFloat(0.02f)).isEqualTo((short) 0x251f);               // 0.0200043 is nearest
    }
}
