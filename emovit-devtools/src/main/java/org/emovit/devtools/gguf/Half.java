package org.emovit.devtools.gguf;

/**
 * IEEE 754 binary16 encoding as ggml makes it (round to nearest, ties to even; overflow to infinity). Written out
 * because Java 17 has no Float.floatToFloat16; decoding is emovit-weights' {@link org.emovit.weights.Half#toFloat}.
 */
public final class Half {
    private Half() {}

    /** The binary16 bits nearest to {@code f}, ties to the even one. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) {
            return (short) (sign | 0x7e00);                       // NaN stays NaN (quiet)
        }
        if (abs >= 0x477ff000) {
            return (short) (sign | 0x7c00);                       // from 65520 (halfway past 65504) up: infinity
        }
        if (abs >= 0x38800000) {                                  // 2^-14 and up: a normal half
            int rebiased = abs - 0x38000000;                      // exponent bias 127 -> 15
            rebiased += 0x0fff + ((rebiased >>> 13) & 1);         // round the 13 dropped bits, ties to even
            return (short) (sign | (rebiased >>> 13));            // a carry into the exponent is the right answer
        }
        if (abs <= 0x33000000) {
            return (short) sign;                                  // up to 2^-25 (a tie with 2^-24): zero, the even one
        }
        // A subnormal half: the value in units of 2^-24, rounded to nearest even.
        int exponent = abs >>> 23;
        int mantissa = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - exponent;                               // 14..24 here
        int q = mantissa >>> shift;
        int rest = mantissa & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (q & 1) == 1)) {
            q++;                                                  // 0x400 is the smallest normal half: still right
        }
        return (short) (sign | q);
    }
}
