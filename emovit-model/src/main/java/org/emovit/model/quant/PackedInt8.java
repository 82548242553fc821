package org.emovit.model.quant;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Owned;
import org.emovit.model.Tensors;

/**
 * An int8 Linear weight packed for FBGEMM's u8 x s8 → s32 GEMM, whose VNNI dot products read the weight at about
 * 1.3-1.6x the rate of {@code aten::_weight_int8pack_mm} (which widens every weight byte to float): a decode step
 * is that product, once per weight byte.
 *
 * <p>The activations go in as exact integers in two levels, {@code x ≈ s1 q1 + s2 q2} per row, where {@code q1}
 * is x at {@code max|x| / 127} steps and {@code q2} the remainder at {@code max|remainder| / 127} steps: one
 * product of the weight with {@code [q1; q2]} gives both, and the error is at most {@code max|x| / 64516} per
 * element, below bf16's rounding of the activations whatever outliers a row has (one level, 8 bits per token, loses
 * LLaMA-7B's small features next to its outlier features; with one feature 60x the others a product's relative
 * error was 0.10 in one level, 4e-4 in two, 2.5e-3 with bf16 activations; see {@code PackedInt8Test}).
 *
 * <p>The integers reach the operator exactly (it quantises float input per tensor: see {@link Encoding}), and the
 * int32 sums are exact where the CPU's int8 dot product does not saturate: VNNI's {@code vpdpbusd} takes the integers
 * as they are ({@link Encoding#SIGNED}); AVX2's {@code vpmaddubsw} saturates pairs of products at 32767, so there each
 * level is split by sign ({@link Encoding#SPLIT}, twice the rows). {@link #encoding} checks both once, on products
 * built to saturate, and uses the int8 kernel where the signed integers are not exact (unless asked for the split).
 *
 * <p>FBGEMM packs the weight into its own memory: a model using this keeps its checkpoint's int8 values mapped
 * but untouched (read again only by gradients: Grad-CAM, training through the frozen LLM).
 */
public final class PackedInt8 {
    static final String KERNEL_PROPERTY = Int8KernelChoice.PROPERTY;

    /** The {@link Encoding} found exact on this CPU (empty: neither is, or FBGEMM cannot run); null until checked. */
    private static volatile java.util.Optional<Encoding> exact;

    private final Tensor packed;
    /** int32 [N]: each output's sum of int8 values, which FBGEMM subtracts times the activations' zero point. */
    private final Tensor columnSums;
    /** The int8 values' tensor: the operator reads only its sizes. */
    private final Tensor shape;
    private final Tensor scales;
    private final Tensor zeroBias;

    private PackedInt8(Tensor values, Tensor packed, Tensor columnSums, Tensor scales) {
        long n = values.size(0);
        this.shape = values;
        this.packed = packed;
        this.columnSums = columnSums;
        this.scales = scales;
        this.zeroBias = torch.zeros(new long[] {n}, Tensors.options(ScalarType.Float, cpu()));
    }

    /** A new CPU device each time: a static one made inside some PointerScope would be freed with it. */
    private static Device cpu() {
        return new Device("cpu");
    }

    /**
     * Packs {@code source} (int8 [N, K], read once; it may be a scratch copy of {@code values}) for products with
     * {@code values}' shape and the float32 per-row {@code scales}.
     */
    static PackedInt8 pack(Tensor values, Tensor source, Tensor scales) {
        if (!fits(values.size(1))) {
            throw new IllegalArgumentException("an int8 weight [" + values.size(0) + ", " + values.size(1) + "] is too narrow to pack");
        }
        DeprecationNotices.spend();
        Tensor packed = torch.fbgemm_pack_quantized_matrix(source);
        return new PackedInt8(values, packed, rowSums(source), scales);
    }

    /**
     * Whether weights [N, k] can be packed: the row that fixes the operator's quantisation ({@link Encoding}) holds two
     * values, so k must be at least 2.
     */
    public static boolean fits(long k) {
        return k >= 2;
    }

    /** Rows summed at a time: a sum to int32 converts its input first, 4 bytes per weight (180 MB at 7B MLP widths). */
    private static final long SUM_ROWS = 256;

    /**
     * Each row's sum of int8 values, as int32 [N], a block of rows at a time: summed whole, the int32 copy of every
     * weight stayed resident in the heap (the loader's glibc settings keep freed memory) and a 7B load peaked at
     * 18 GiB instead of 8.
     */
    private static Tensor rowSums(Tensor source) {
        long n = source.size(0);
        Tensor sums = torch.empty(new long[] {n}, Tensors.options(ScalarType.Int, cpu()), new org.bytedeco.pytorch.MemoryFormatOptional());
        for (long row = 0; row < n; row += SUM_ROWS) {
            long rows = Math.min(SUM_ROWS, n - row);
            try (PointerScope scope = new PointerScope()) {
                sums.narrow(0, row, rows).copy_(source.narrow(0, row, rows).sum(new long[] {1}, false,
                        new org.bytedeco.pytorch.ScalarTypeOptional(ScalarType.Int)));
            }
        }
        return sums;
    }

    /**
     * Which int8 Linears a model packs: the LLM's, whose decode step is one matrix-vector product per weight. The ViT's
     * stay on the bf16 GEMM path: their 257 rows are compute-bound, where two integer rows per activation row cost
     * more than converting the weight once.
     */
    public static boolean packs(String key) {
        return key.startsWith("language_model.");
    }

    /**
     * How activations become FBGEMM's unsigned 8-bit input exactly. The operator quantises its float input per tensor;
     * a last row holding {@code padLow} and {@code padHigh} (255 apart) makes it choose scale 1 and zero point
     * {@code -padLow}, so integer rows pass unchanged.
     */
    enum Encoding {
        /**
         * Each level's integers as they are, zero point 128: a pair of products in the int8 dot product reaches
         * 2 x 255 x 127, which VNNI's {@code vpdpbusd} sums in int32.
         */
        SIGNED(-128, 127, 1),
        /**
         * Each level split by sign into two rows of magnitudes, zero point 0: a pair of products stays within
         * 2 x 127 x 127 = 32258, below the int16 saturation of AVX2's {@code vpmaddubsw}; twice the rows.
         */
        SPLIT(0, 255, 2);

        final double padLow;
        final double padHigh;
        /** Input rows per activation row and level. */
        final int rowsPerLevel;

        Encoding(double padLow, double padHigh, int rowsPerLevel) {
            this.padLow = padLow;
            this.padHigh = padHigh;
            this.rowsPerLevel = rowsPerLevel;
        }
    }

    /** Whether int8 Linears are packed here: FBGEMM's sums exact on this CPU, unless the property or variable says no. */
    public static boolean available() {
        return encoding() != null;
    }

    /**
     * The encoding the LLM's products use, or null for libtorch's int8 kernel: {@link Encoding#SIGNED} where its sums
     * are exact (checked once). {@link Encoding#SPLIT} only when asked for ({@code fbgemm}): on an AVX2-only CPU it
     * decodes faster than the int8 kernel, but its four integer rows per activation row make prefills slower, and a
     * score-mode classification is a prefill (the README gives the figures).
     */
    static Encoding encoding() {
        Int8KernelChoice choice = Int8KernelChoice.current();
        if (choice == Int8KernelChoice.INT8PACK) {
            return null;
        }
        Encoding found = exactEncoding();
        if (found == null && choice == Int8KernelChoice.FBGEMM) {
            throw new IllegalStateException(KERNEL_PROPERTY + "=fbgemm, but FBGEMM's int8 sums are not exact on this CPU");
        }
        return found == Encoding.SIGNED || choice == Int8KernelChoice.FBGEMM ? found : null;
    }

    /**
     * The FBGEMM operators the packing calls, deprecated in libtorch 2.10 ("will be removed in a future PyTorch
     * release"): where either is gone, int8 Linears take {@code aten::_weight_int8pack_mm} instead.
     */
    static final String[] OPERATORS = DeprecationNotices.OPERATORS;

    /**
     * The first encoding exact on this CPU where the packing's {@code operators} are all registered; null where neither
     * is exact or one is gone (then the LLM's int8 products take {@code aten::_weight_int8pack_mm}).
     */
    static Encoding exactEncoding(String... operators) {
        if (!NativeOperators.allRegistered(operators)) {
            return null;
        }
        return checkExact(Encoding.SIGNED) ? Encoding.SIGNED : checkExact(Encoding.SPLIT) ? Encoding.SPLIT : null;
    }

    /** {@link #exactEncoding(String...)} with the packing's own operators, checked once. */
    private static Encoding exactEncoding() {
        if (exact == null) {
            exact = java.util.Optional.ofNullable(exactEncoding(OPERATORS));
        }
        return exact.orElse(null);
    }

    /** What {@link #available} would use, for bench's report. */
    public static String describe() {
        if (Int8KernelChoice.current() == Int8KernelChoice.INT8PACK) {
            return "aten::_weight_int8pack_mm (" + KERNEL_PROPERTY + "=int8pack)";
        }
        Encoding e = encoding();
        return e == Encoding.SIGNED ? "FBGEMM u8s8 with exact two-level int8 activations (int32 sums: VNNI)"
                : e == Encoding.SPLIT ? "FBGEMM u8s8 with exact two-level int8 activations split by sign (int16 pair sums: AVX2)"
                : exactEncoding() == Encoding.SPLIT ? "aten::_weight_int8pack_mm (no VNNI: FBGEMM's sums are exact only split by sign, which "
                        + "prefills slower; " + KERNEL_PROPERTY + "=fbgemm or " + Int8KernelChoice.VARIABLE + "=fbgemm chooses it for faster decoding)"
                : "aten::_weight_int8pack_mm (FBGEMM's int8 sums are not exact on this CPU)";
    }

    /**
     * Products built to saturate: every weight 127, one activation row all 127 (pairs of 2 x 255 x 127 under
     * {@link Encoding#SIGNED}'s zero point, 2 x 127 x 127 under {@link Encoding#SPLIT}), one alternating +-127
     * (sums to 0 only if both signs pass exactly). Where FBGEMM cannot run at all, not exact.
     */
    static boolean checkExact(Encoding encoding) {
        try (PointerScope scope = new PointerScope()) {
            long n = 8, k = 64;
            Tensor values = torch.full(new long[] {n, k}, new Scalar(127), Tensors.options(ScalarType.Char, cpu()));
            Tensor scales = torch.ones(new long[] {n}, Tensors.options(ScalarType.Float, cpu()));
            PackedInt8 p = pack(values, values, scales);
            float[] rows = new float[(int) (2 * k)];
            for (int i = 0; i < k; i++) {
                rows[i] = 127;
                rows[(int) k + i] = i % 2 == 0 ? 127 : -127;
            }
            Tensor x = Tensors.fromFloats(rows, 2, k);
            Tensor y = p.matmul(x, encoding);
            return y.select(0, 0).min().item_double() == 127.0 * 127.0 * k && y.select(0, 1).abs().max().item_double() == 0;
        } catch (RuntimeException e) {
            return false;   // "Your CPU doesn't support FBGEMM", or a libtorch built without it
        }
    }

    /** x [..., K] (float32 or bf16) @ (values * scales[:, None])^T -> [..., N] in x's dtype. */
    public Tensor matmul(Tensor x) {
        Encoding encoding = encoding();
        if (encoding == null) {
            throw new IllegalStateException("packed int8 weight, but the packed products are off: " + describe());
        }
        return matmul(x, encoding);
    }

    Tensor matmul(Tensor x, Encoding encoding) {
        ScalarType dtype = x.scalar_type().intern();
        long k = x.size(-1), n = shape.size(0);
        return Owned.handBack(Owned.step(() -> {
            Tensor xf = x.reshape(-1, k).to(ScalarType.Float);
            long m = xf.size(0), rows = encoding.rowsPerLevel * m;
            // x = s1 q1 + s2 q2 (+ at most max|x| / 64516): q1 at max|x| / 127 steps, q2 the remainder at its own.
            Tensor s1 = stepOf(xf);
            Tensor q1 = torch.round(xf.div(s1));
            Tensor rest = torch.addcmul(xf, q1, s1, new Scalar(-1.0));
            Tensor s2 = stepOf(rest);
            Tensor q2 = torch.round(rest.div_(s2));
            Tensor a = torch.empty(new long[] {2 * rows + 1, k}, Tensors.options(ScalarType.Float, cpu()), new org.bytedeco.pytorch.MemoryFormatOptional());
            put(a.narrow(0, 0, rows), q1, encoding);
            put(a.narrow(0, rows, rows), q2, encoding);
            Tensor pad = a.narrow(0, 2 * rows, 1).zero_();
            pad.narrow(1, 0, 1).fill_(new Scalar(encoding.padLow));
            pad.narrow(1, 1, 1).fill_(new Scalar(encoding.padHigh));
            Tensor out = torch.fbgemm_linear_int8_weight_fp32_activation(a, shape, packed, columnSums, new Scalar(1.0), new Scalar(0L), zeroBias);
            Tensor y = level(out.narrow(0, 0, rows), encoding).mul_(s1).addcmul_(level(out.narrow(0, rows, rows), encoding), s2).mul_(scales);
            long[] outShape = Tensors.shape(x);
            outShape[outShape.length - 1] = n;
            return y.to(dtype).reshape(outShape);
        }));
    }

    /** One level's integers [M, K] into its input rows: as they are, or as magnitudes of their positive and negative parts. */
    private static void put(Tensor rows, Tensor q, Encoding encoding) {
        if (encoding == Encoding.SIGNED) {
            rows.copy_(q);
            return;
        }
        long m = q.size(0);
        torch.clamp_min_out(rows.narrow(0, 0, m), q, new Scalar(0.0));
        torch.clamp_max_out(rows.narrow(0, m, m), q, new Scalar(0.0)).neg_();
    }

    /** One level's product rows [M, N] from its output rows: as they are, or positive part minus negative part. */
    private static Tensor level(Tensor out, Encoding encoding) {
        if (encoding == Encoding.SIGNED) {
            return out;
        }
        long m = out.size(0) / 2;
        return out.narrow(0, 0, m).sub(out.narrow(0, m, m));
    }

    /** max|row| / 127 per row, as [M, 1]; a zero row gets a tiny step (its integers are 0 either way). */
    private static Tensor stepOf(Tensor rows) {
        return rows.abs().amax(new long[] {1}, true).div_(new Scalar(127.0)).clamp_min_(new Scalar(1e-30));
    }
}
