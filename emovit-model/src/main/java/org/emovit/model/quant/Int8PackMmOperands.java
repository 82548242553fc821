package org.emovit.model.quant;

import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * What libtorch's {@code aten::_weight_int8pack_mm} needs of its operands on a CPU and does not check itself. Its
 * AVX-512 kernel ({@code int8pack_mm_kernel_<BFloat16>}, {@code aten/src/ATen/native/cpu/int8mm_kernel.cpp}, libtorch
 * 2.10) walks each row of x [M, K] 16 elements at a time with aligned 32-byte loads ({@code _mm256_load_si256}) and
 * each row of the weight [N, K] 16 bytes at a time with aligned 16-byte loads ({@code _mm_load_si128}), row i at
 * {@code base + i * K}, k stepping by 16 while {@code k < K}; the AVX2 kernel steps by 8 with aligned 16-byte loads of
 * x. The operator itself only checks dtypes, ranks and {@code x.stride(1) == 1}. So:
 * <ul>
 *   <li>K must be a multiple of {@link #K_MULTIPLE}: otherwise a row other than the first starts off the 16/32-byte
 *   grid and the aligned load faults (SIGSEGV: a converted model with K = 40), or, where it happens not to, the last
 *   step reads past the row into the next one (a wrong answer without an error);</li>
 *   <li>both bases must be aligned: a weight mapped from a file whose data starts on an 8-byte boundary (valid
 *   safetensors) faults in the first load; so does an activation that is a view at an odd offset;</li>
 *   <li>x must be dense row-major ({@code lda} is taken to be K) and the scales contiguous in x's dtype.</li>
 * </ul>
 * So each operand must start on a multiple of one 16-element load ({@link #alignment}: 16 bytes for the int8 weight,
 * 32 for bf16 activations); libtorch's CPU allocator aligns to 64 bytes, so a copy made by libtorch always does.
 */
public final class Int8PackMmOperands {
    private Int8PackMmOperands() {}

    /** The kernel's step along K (AVX-512; AVX2's 8 divides it). */
    public static final long K_MULTIPLE = 16;


    /** Whether the kernel can multiply by weights [N, k] at all (else: a dense product on the dequantised weight). */
    public static boolean acceptsWidth(long k) {
        return k % K_MULTIPLE == 0;
    }

    /** The bytes of one of the kernel's loads of an operand in this tensor's dtype, where its rows must start. */
    public static long alignment(Tensor t) {
        return K_MULTIPLE * t.element_size();
    }

    /** Whether a CPU tensor's first element lies where the kernel can load it from. */
    public static boolean aligned(Tensor t) {
        return t.data_ptr().address() % alignment(t) == 0;
    }

    /**
     * {@code t} where the kernel can load it (dense row-major, aligned), else a row-major copy of it made by libtorch,
     * which aligns it.
     */
    public static Tensor loadable(Tensor t) {
        if (t.is_contiguous() && (t.numel() == 0 || aligned(t))) {
            return t;
        }
        return t.clone(new MemoryFormatOptional(torch.MemoryFormat.Contiguous));
    }

    /**
     * The reason the kernel must not run on these operands, or null where it may: x [M, K] in x's dtype, w int8
     * [N, K], scales [N].
     */
    public static String refusal(Tensor x, Tensor w, Tensor scales) {
        if (x.dim() != 2 || w.dim() != 2 || scales.dim() != 1) {
            return "needs x [M, K], w [N, K] and scales [N], got ranks " + x.dim() + ", " + w.dim() + ", " + scales.dim();
        }
        long k = x.size(1);
        if (w.scalar_type().intern() != ScalarType.Char || w.size(1) != k || scales.size(0) != w.size(0)) {
            return "needs an int8 weight [N, " + k + "] and scales [N], got " + w.scalar_type().intern() + " ["
                    + w.size(0) + ", " + w.size(1) + "] and [" + scales.size(0) + "]";
        }
        if (scales.scalar_type().intern() != x.scalar_type().intern()) {
            return "needs the scales in x's dtype " + x.scalar_type().intern() + ", got " + scales.scalar_type().intern();
        }
        if (!acceptsWidth(k)) {
            return "needs K a multiple of " + K_MULTIPLE + ", got " + k;
        }
        if (!x.is_contiguous() || !w.is_contiguous() || !scales.is_contiguous()) {
            return "needs contiguous operands";
        }
        if (x.numel() > 0 && w.numel() > 0 && !(aligned(x) && aligned(w))) {
            return "needs x and w aligned to " + alignment(x) + " and " + alignment(w) + " bytes, got addresses "
                    + (x.data_ptr().address() % alignment(x)) + " and " + (w.data_ptr().address() % alignment(w)) + " bytes past";
        }
        return null;
    }
}
