package org.emovit.model;

import java.util.Locale;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

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
 * <p>The libtorch operator quantises its float input itself, per tensor, and its parameters come out as scale 1,
 * zero point 128 exactly when the input holds -128 and 127 and integers only: a last row of the input holds
 * them, so every integer passes unchanged. Sums stay exact in int32 only where the CPU's int8 dot product does
 * not saturate (VNNI's {@code vpdpbusd}; AVX2's {@code vpmaddubsw} saturates pairs at 32767), which
 * {@link #available} checks once, on a product built to saturate.
 *
 * <p>FBGEMM packs the weight into its own memory: a model using this keeps its checkpoint's int8 values mapped
 * but untouched (read again only by gradients: Grad-CAM, training through the frozen LLM).
 */
public final class PackedInt8 {
    /** {@code -Demovit.int8.kernel} or {@code EMOVIT_INT8_KERNEL}: auto (FBGEMM where exact), fbgemm, int8pack. */
    static final String KERNEL_PROPERTY = "emovit.int8.kernel";

    private static volatile Boolean exact;

    private final Tensor packed;
    /** int32 [N]: each output's sum of int8 values, which FBGEMM subtracts times the zero point 128. */
    private final Tensor columnSums;
    /** The int8 values' tensor: the operator reads only its sizes. */
    private final Tensor shape;
    private final Tensor scales;
    private final Tensor zeroBias;
    private final Tensor padRow;

    private PackedInt8(Tensor values, Tensor packed, Tensor columnSums, Tensor scales) {
        long n = values.size(0), k = values.size(1);
        this.shape = values;
        this.packed = packed;
        this.columnSums = columnSums;
        this.scales = scales;
        this.zeroBias = torch.zeros(new long[] {n}, Tensors.options(ScalarType.Float, cpu()));
        this.padRow = torch.zeros(new long[] {1, k}, Tensors.options(ScalarType.Float, cpu()));
        padRow.narrow(1, 0, 1).fill_(new Scalar(-128.0));
        if (k > 1) {
            padRow.narrow(1, 1, 1).fill_(new Scalar(127.0));
        }
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
        Tensor packed = torch.fbgemm_pack_quantized_matrix(source);
        return new PackedInt8(values, packed, rowSums(source), scales);
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
     * more than converting the weight (a 96-row product at 7B MLP widths: 23-25 ms packed, 15-17 ms converted).
     */
    static boolean packs(String key) {
        return key.startsWith("language_model.");
    }

    /** Whether int8 Linears are packed here: FBGEMM's sums exact on this CPU, unless the property or variable says no. */
    public static boolean available() {
        String choice = choice();
        if (choice.equals("int8pack")) {
            return false;
        }
        if (exact == null) {
            exact = checkExact();
        }
        if (!exact && choice.equals("fbgemm")) {
            throw new IllegalStateException(KERNEL_PROPERTY + "=fbgemm, but FBGEMM's int8 sums are not exact on this CPU (no VNNI)");
        }
        return exact;
    }

    /** What {@link #available} would use, for bench's report: "fbgemm (...)" or "int8pack (...)". */
    public static String describe() {
        if (choice().equals("int8pack")) {
            return "aten::_weight_int8pack_mm (" + KERNEL_PROPERTY + "=int8pack)";
        }
        return available() ? "FBGEMM u8s8 with exact two-level int8 activations (VNNI)"
                : "aten::_weight_int8pack_mm (FBGEMM's int8 sums saturate on this CPU)";
    }

    private static String choice() {
        String value = System.getProperty(KERNEL_PROPERTY, System.getenv("EMOVIT_INT8_KERNEL"));
        String choice = value == null || value.isBlank() ? "auto" : value.trim().toLowerCase(Locale.ROOT);
        if (!choice.equals("auto") && !choice.equals("fbgemm") && !choice.equals("int8pack")) {
            throw new IllegalArgumentException(KERNEL_PROPERTY + " / EMOVIT_INT8_KERNEL: auto, fbgemm or int8pack, not '" + value + "'");
        }
        return choice;
    }

    /**
     * A product whose int8 pairs sum past 32767 (all activations 127, so 255 after the zero point, all weights 127):
     * exact with VNNI, saturated with AVX2's pairwise multiply-add; and where FBGEMM cannot run at all, not exact.
     */
    static boolean checkExact() {
        try (PointerScope scope = new PointerScope()) {
            long n = 8, k = 64;
            Tensor values = torch.full(new long[] {n, k}, new Scalar(127), Tensors.options(ScalarType.Char, cpu()));
            Tensor scales = torch.ones(new long[] {n}, Tensors.options(ScalarType.Float, cpu()));
            PackedInt8 p = pack(values, values, scales);
            Tensor x = torch.full(new long[] {1, k}, new Scalar(127.0), Tensors.options(ScalarType.Float, cpu()));
            double got = p.matmul(x).max().item_double();
            return got == 127.0 * 127.0 * k;
        } catch (RuntimeException e) {
            return false;   // "Your CPU doesn't support FBGEMM", or a libtorch built without it
        }
    }

    /** x [..., K] (float32 or bf16) @ (values * scales[:, None])^T -> [..., N] in x's dtype. */
    public Tensor matmul(Tensor x) {
        ScalarType dtype = x.scalar_type().intern();
        long k = x.size(-1), n = shape.size(0);
        return Owned.handBack(Owned.step(() -> {
            Tensor x2 = x.reshape(-1, k);
            long m = x2.size(0);
            Tensor xf = x2.to(ScalarType.Float);
            Tensor a = torch.empty(new long[] {2 * m + 1, k}, Tensors.options(ScalarType.Float, cpu()), new org.bytedeco.pytorch.MemoryFormatOptional());
            Tensor q1 = a.narrow(0, 0, m), q2 = a.narrow(0, m, m);
            Tensor s1 = stepOf(xf);
            torch.div_out(q1, xf, s1).round_();
            Tensor rest = torch.addcmul(xf, q1, s1, new Scalar(-1.0));
            Tensor s2 = stepOf(rest);
            torch.div_out(q2, rest, s2).round_();
            a.narrow(0, 2 * m, 1).copy_(padRow);
            Tensor out = torch.fbgemm_linear_int8_weight_fp32_activation(a, shape, packed, columnSums, new Scalar(1.0), new Scalar(0L), zeroBias);
            Tensor y = out.narrow(0, 0, m).mul_(s1).add_(out.narrow(0, m, m).mul_(s2)).mul_(scales);
            long[] outShape = Tensors.shape(x);
            outShape[outShape.length - 1] = n;
            return y.to(dtype).reshape(outShape);
        }));
    }

    /** max|row| / 127 per row, as [M, 1]; a zero row gets a tiny step (its integers are 0 either way). */
    private static Tensor stepOf(Tensor rows) {
        return rows.abs().amax(new long[] {1}, true).div_(new Scalar(127.0)).clamp_min_(new Scalar(1e-30));
    }
}
