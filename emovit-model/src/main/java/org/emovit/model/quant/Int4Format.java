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
 *   <li>its groups' parameters, BF16, per group of G consecutive columns and row, group-major; G is
 *   {@link #groupFor}(K): {@value #GROUP}, or 16 or 8 for a width that 32 does not divide (small test models). Two
 *   {@link Scheme schemes}, told apart by the parameters' key:
 *   <ul>
 *     <li>{@link Scheme#SYMMETRIC} ({@code <name>.weight_group_scales}, [K/G, N]): a scale (finite, non-zero, either
 *     sign), {@code w = (q - 8) * scale}: 4.5 bits a weight, llama.cpp Q4_0's bytes. What {@code convert} writes.</li>
 *     <li>{@link Scheme#AFFINE} ({@code <name>.weight_scale_zero}, [K/G, N, 2]): a scale (finite, positive) and a
 *     zero (finite), {@code w = (q - 8) * scale + zero}, the affine groups of libtorch's
 *     {@code _weight_int4pack_mm_for_cpu}: 5 bits a weight, as Q4_1. Earlier versions wrote it; it still loads.</li>
 *   </ul></li>
 * </ul>
 * {@link Int4Weight#quantize} says how the groups are fitted. emovit's native kernel ({@link NativeInt4}) multiplies
 * by the levels and parameters as stored, where they are mapped; for libtorch's kernel the scales and zeros are its
 * own operand (a symmetric weight's zeros are 0) and only the levels are packed at load. A weight is 4-bit where
 * either parameters' sibling exists; only widths {@link #accepts} are stored so, and those {@link #kernelAccepts} run
 * through the kernel (others on the dequantised weight). Every check names the key and the file in one line.
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

    /**
     * How a group's levels give its weights. SYMMETRIC measured as accurate as llama.cpp's Q4_0 or more at 7B widths
     * (Int4SevenBWidthTest) with Q4_0's bytes; AFFINE's zeros cost half a bit a weight more, which decoding, bound by
     * reading the weights, pays in time.
     */
    public enum Scheme {
        /** {@code (q - 8) * scale}: one BF16 scale a group, [K/G, N]. */
        SYMMETRIC("_group_scales", 1),
        /** {@code (q - 8) * scale + zero}: a BF16 scale and zero a group, [K/G, N, 2]. */
        AFFINE("_scale_zero", 2);

        /** The key of a weight's parameters: {@code <name>.weight} → {@code <name>.weight<suffix>}. */
        public final SiblingKey params;
        /** Parameters a group holds per row. */
        public final int perGroup;

        Scheme(String suffix, int perGroup) {
            this.params = new SiblingKey(suffix);
            this.perGroup = perGroup;
        }

        /** The parameters' shape for a Linear [out, in]. */
        public long[] paramsShape(long out, long in) {
            long groups = in / groupFor(in);
            return perGroup == 1 ? new long[] {groups, out} : new long[] {groups, out, 2};
        }

        /** The scheme of stored parameters, by their rank ([K/G, N] or [K/G, N, 2]). */
        public static Scheme of(Tensor params) {
            return params.dim() == 2 ? SYMMETRIC : AFFINE;
        }

        /** The scheme whose parameters' key this is, or null. */
        public static Scheme ofParamsKey(String key) {
            for (Scheme s : values()) {
                if (s.params.matches(key)) {
                    return s;
                }
            }
            return null;
        }
    }

    /** What {@code emovit convert --quantize int4} writes. */
    public static final Scheme WRITTEN = Scheme.SYMMETRIC;

    /** Rows the packed kernel layout is blocked by; the kernel takes weights with a multiple of it. */
    static final long ROW_BLOCK = 64;


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

    /**
     * Refuses group parameters ({@link Scheme#of} their shape) where a scale is not finite (or, affine, not positive;
     * symmetric, zero) or a zero not finite.
     */
    public static void requireValidParams(Tensor params, String key, String origin) {
        float[] p = Tensors.toFloats(params);
        Scheme scheme = Scheme.of(params);
        long rows = params.size(1);
        int per = scheme.perGroup;
        for (int i = 0; i < p.length; i += per) {
            String at = " at row " + (i / per % rows) + ", group " + (i / per / rows);
            boolean valid = Float.isFinite(p[i]) && (scheme == Scheme.AFFINE ? p[i] > 0 : p[i] != 0);
            if (!valid) {
                throw new ModelLoadException("int4 scale in '" + key + "' from " + origin + " is " + p[i] + at + ": every scale must be finite and "
                        + (scheme == Scheme.AFFINE ? "positive" : "non-zero"));
            }
            if (per == 2 && !Float.isFinite(p[i + 1])) {
                throw new ModelLoadException("int4 zero in '" + key + "' from " + origin + " is " + p[i + 1] + at
                        + ": every zero must be finite");
            }
        }
    }

    /** Group parameters left over once the model took its weights. */
    public static String strayParams(String key, String origin, boolean weightExists) {
        return "stray int4 group parameters '" + key + "' from " + origin + ": '" + Scheme.ofParamsKey(key).params.weightOf(key) + "' is "
                + (weightExists ? "not a 4-bit Linear weight" : "not in the checkpoint");
    }
}
