package org.emovit.model.quant;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.ModelLoadException;
import org.emovit.model.Tensors;

/**
 * The stored form of a 4-bit Linear weight ({@code emovit convert --quantize int4}), independent of any kernel's
 * layout so that a checkpoint outlives the libtorch that packs it:
 * <ul>
 *   <li>{@code <name>.weight}: U8 [N, K/2], row-major; byte {@code j} of row {@code n} holds column {@code 2j} in its
 *   low nibble and column {@code 2j+1} in its high nibble, each an unsigned level {@code q} in [0, 15];</li>
 *   <li>{@code <name>.weight_scale_zero}: BF16 [K/G, N, 2], per group of G consecutive columns and row a scale
 *   (finite, positive) and a zero (finite); G is {@link #groupFor}(K): {@value #GROUP}, or 16 or 8 for a width that
 *   32 does not divide (small test models),</li>
 * </ul>
 * so that {@code w[n, k] = (q[n, k] - 8) * scale[n, k/G] + zero[n, k/G]} — the affine groups of libtorch's
 * {@code _weight_int4pack_mm_for_cpu} (GPTQ-style affine groups; {@link Int4Weight#quantize} says how they are fitted).
 * emovit's native kernel ({@link NativeInt4}) multiplies by both as stored, where they are mapped; for libtorch's the
 * scales and zeros are its own operand, in its dtype and order, and only the levels are packed at load (5 bits a
 * weight in all, as llama.cpp's Q4_1; Q4_0's one scale a group makes 4.5). A weight is 4-bit where its
 * {@code _scale_zero} sibling exists; only widths {@link #accepts} are
 * stored so, and those {@link #kernelAccepts} run through the kernel (others on the dequantised weight). Every check
 * names the key and the file in one line.
 */
public final class Int4Format {
    private Int4Format() {}

    /**
     * Columns per scale and zero. 32 (llama.cpp Q4_0's block) measured the most accurate of the kernel's 32/64/128
     * (relative error of a 4096 x 11008 product 0.077 / 0.089 / 0.101) at about the same decode speed (1.7 / 1.6 /
     * 2.1 ms, Int4ProbeTest).
     */
    public static final long GROUP = 32;

    /** The stored dtype of the scales and zeros: the kernel's operand's, as it takes them with bf16 activations. */
    public static final ScalarType PARAMS_TYPE = ScalarType.BFloat16;

    /** What follows a weight's key in its scales-and-zeros key. */
    public static final String PARAMS_SUFFIX = "_scale_zero";

    /** Rows the packed kernel layout is blocked by; the kernel takes weights with a multiple of it. */
    static final long ROW_BLOCK = 64;

    /** The key of a weight's scales and zeros: {@code <name>.weight} → {@code <name>.weight_scale_zero}. */
    public static final SiblingKey PARAMS = new SiblingKey(PARAMS_SUFFIX);

    /** The columns per scale and zero of a weight K wide: the largest of 32, 16, 8 that divides K, else 0. */
    public static long groupFor(long in) {
        for (long g = GROUP; g >= 8; g /= 2) {
            if (in % g == 0) {
                return g;
            }
        }
        return 0;
    }

    /** Whether a Linear [out, in] can be stored 4-bit: whole groups of at least 8 columns. */
    public static boolean accepts(long out, long in) {
        return out > 0 && in > 0 && groupFor(in) > 0;
    }

    /** Whether libtorch's kernel takes a 4-bit Linear [out, in]: groups of 32, whole row blocks (the native kernel: groups of 32). */
    public static boolean kernelAccepts(long out, long in) {
        return in % GROUP == 0 && out % ROW_BLOCK == 0;
    }

    /** The stored values' shape for a Linear [out, in]. */
    public static long[] valuesShape(long out, long in) {
        return new long[] {out, in / 2};
    }

    /** The stored scales' and zeros' shape for a Linear [out, in]: [groups, out, 2]. */
    public static long[] paramsShape(long out, long in) {
        return new long[] {in / groupFor(in), out, 2};
    }

    /** Refuses scales and zeros ([K/G, N, 2]) where a scale is not finite and positive or a zero not finite. */
    public static void requireValidParams(Tensor params, String key, String origin) {
        float[] p = Tensors.toFloats(params);
        long rows = params.size(1);
        for (int i = 0; i < p.length; i += 2) {
            String at = " at row " + (i / 2 % rows) + ", group " + (i / 2 / rows);
            if (!Float.isFinite(p[i]) || p[i] <= 0) {
                throw new ModelLoadException("int4 scale in '" + key + "' from " + origin + " is " + p[i] + at
                        + ": every scale must be finite and positive");
            }
            if (!Float.isFinite(p[i + 1])) {
                throw new ModelLoadException("int4 zero in '" + key + "' from " + origin + " is " + p[i + 1] + at
                        + ": every zero must be finite");
            }
        }
    }

    /** U8 values the model would take as a dense weight: their scales and zeros are missing. */
    public static ModelLoadException missingParams(String key, String origin) {
        return new ModelLoadException("uint8 tensor '" + key + "' from " + origin + " has no scales and zeros '"
                + PARAMS.of(key) + "': a 4-bit Linear weight needs its BF16 [in/" + GROUP + ", out, 2] beside it");
    }

    /** Scales and zeros left over once the model took its weights. */
    public static String strayParams(String key, String origin, boolean weightExists) {
        return "stray int4 scales and zeros '" + key + "' from " + origin + ": '" + PARAMS.weightOf(key) + "' is "
                + (weightExists ? "not a 4-bit Linear weight" : "not in the checkpoint");
    }
}
