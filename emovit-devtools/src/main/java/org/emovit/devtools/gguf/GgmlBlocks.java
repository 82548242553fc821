package org.emovit.devtools.gguf;

import java.nio.ByteBuffer;

/**
 * One block of 32 values in ggml's Q8_0 and Q4_0, computed as ggml's reference quantizers do
 * (quantize_row_q8_0_ref, quantize_row_q4_0_ref in ggml-quants.c), in float arithmetic, so that a file written
 * here holds the bytes llama.cpp's own converter would write for the same values.
 */
final class GgmlBlocks {
    private GgmlBlocks() {}

    /** Q8_0: d = max|x| / 127 stored as fp16, then round(x / d) as int8, ties away from zero (C's roundf). */
    static void q8_0(float[] x, int offset, ByteBuffer dst) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[offset + j]));
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;                 // the unrounded scale, as ggml, not the stored fp16 one
        dst.putShort(Half.fromFloat(d));
        for (int j = 0; j < 32; j++) {
            dst.put((byte) roundHalfAway(x[offset + j] * id));
        }
    }

    /**
     * Q4_0: d = m / -8 where m is the value of largest magnitude (its sign kept, so m itself maps to -8 exactly),
     * q = min(15, trunc(x / d + 8.5)), stored as q - 8 in 4 bits: byte j holds element j in its low nibble and
     * element j + 16 in its high nibble.
     */
    static void q4_0(float[] x, int offset, ByteBuffer dst) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < 32; j++) {
            float v = x[offset + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        dst.putShort(Half.fromFloat(d));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[offset + j] * id + 8.5f));        // (int) truncates like C's (int8_t)
            int hi = Math.min(15, (int) (x[offset + 16 + j] * id + 8.5f));
            dst.put((byte) (lo | hi << 4));
        }
    }

    /** C's roundf: to nearest, halfway cases away from zero (Math.round would take -2.5 to -2). */
    private static int roundHalfAway(float v) {
        double magnitude = Math.floor(Math.abs((double) v) + 0.5);   // exact in double for |v| <= 127
        return (int) Math.copySign(magnitude, v);
    }
}
