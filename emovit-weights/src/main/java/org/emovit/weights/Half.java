package org.emovit.weights;

/** IEEE 754 binary16 conversion (Java 17 has no Float.float16ToFloat): the project's one decoder of binary16. */
public final class Half {
    private Half() {
    }

    /** The float a binary16 value stands for (exact). */
    public static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) {
            float v = mant * 0x1p-24f; // zero or subnormal: exact
            return sign != 0 ? -v : v;
        }
        if (exp == 31) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
