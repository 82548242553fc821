package org.emovit.model.quant;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Owned;
import org.emovit.model.Tensors;

/**
 * A Linear weight stored as symmetric int8 per output channel: {@code weight ≈ values * scales[:, None]}, values
 * int8 [N, K] in [-127, 127], scales float32 [N] ({@code max|w_row| / 127}). Its products run through FBGEMM's
 * packing ({@link PackedInt8}) where this CPU's int8 sums are exact, else through {@link Int8PackMm} for few rows and a
 * dense product in the activations' dtype for many.
 */
public final class Int8Weight {
    /**
     * Key of the scales next to a quantised weight in a checkpoint: {@code <name>.weight} is I8 [N, K] and
     * {@code <name>.weight_scale} F32 [N] (see {@link org.emovit.convert.ModelConverter}).
     */
    public static final String SCALE_SUFFIX = Int8Format.SCALE_SUFFIX;

    private final Tensor values;
    private final Tensor scales;
    /** The scales in bf16 (the kernel requires the activations' dtype), made once. */
    private final Tensor scalesBf16;
    /** Where the GEMM path converts this weight (shared by a model's int8 Linears), or null: a fresh tensor per call. */
    private final Int8Workspace workspace;
    /** The weight packed for FBGEMM (inference on a CPU with exact int8 sums), or null. */
    private final PackedInt8 packed;
    /** Whether {@link #values} is only a placeholder of the right shape (see {@link #packedAlone}). */
    private final boolean valuesDropped;
    /**
     * What the int8 kernel reads: {@link #values}, or an aligned copy of them where they are mapped from a file at an
     * offset the kernel cannot load from; null where the kernel is not used (packed, or a width it cannot take: see
     * {@link Int8PackMmOperands}).
     */
    private final Tensor kernelValues;

    public Int8Weight(Tensor values, Tensor scales) {
        this(values, scales, null);
    }

    public Int8Weight(Tensor values, Tensor scales, Int8Workspace workspace) {
        this(values, scales, workspace, null);
    }

    private Int8Weight(Tensor values, Tensor scales, Int8Workspace workspace, PackedInt8 packed) {
        this(values, scales, workspace, packed, false);
    }

    private Int8Weight(Tensor values, Tensor scales, Int8Workspace workspace, PackedInt8 packed, boolean valuesDropped) {
        if (values.scalar_type().intern() != ScalarType.Char || values.dim() != 2) {
            throw new IllegalArgumentException("int8 weight must be int8 [N, K]");
        }
        if (scales.dim() != 1 || scales.size(0) != values.size(0)) {
            throw new IllegalArgumentException("scales must be [N] for an [N, K] weight");
        }
        this.values = values;
        this.scales = scales.to(ScalarType.Float);
        this.scalesBf16 = scales.to(ScalarType.BFloat16);
        this.workspace = workspace;
        this.packed = packed;
        this.valuesDropped = valuesDropped;
        this.kernelValues = packed != null || !Int8PackMmOperands.acceptsWidth(values.size(1)) || !values.device().is_cpu() ? null
                : Int8PackMmOperands.loadable(values);
    }

    /**
     * This weight with its FBGEMM packing (see {@link PackedInt8}), made from {@code source}: the values themselves,
     * or a copy read from the checkpoint so that the mapped values stay untouched (not resident) until a gradient
     * needs them. Callers check {@link PackedInt8#available()} first.
     */
    public Int8Weight packed(Tensor source) {
        return packed(values, scales, workspace, source);
    }

    /**
     * As {@link #packed(Tensor)}, straight from the checkpoint's values and scales: no unpacked weight is made first,
     * whose kernel copy (see {@link #kernelValues}) a weight mapped at an unaligned offset would make for nothing.
     */
    public static Int8Weight packed(Tensor values, Tensor scales, Int8Workspace workspace, Tensor source) {
        return new Int8Weight(values, scales, workspace, PackedInt8.pack(values, source, scales));
    }

    /**
     * This weight packed from its values, which are then not kept: the model holds the packing alone, and whatever
     * needs the values (gradients, other devices, the checkpoint writer) is refused in one line. For a weight
     * quantised into a scratch buffer as it is made (bench's int8 7B model).
     */
    public Int8Weight packedAlone() {
        Tensor placeholder = torch.zeros(new long[] {1, 1}, Tensors.options(ScalarType.Char, values.device())).expand(values.size(0), values.size(1));
        return new Int8Weight(placeholder, scales, workspace, PackedInt8.pack(placeholder, values, scales), true);
    }

    /** The FBGEMM packing, or null. */
    PackedInt8 packing() {
        return packed;
    }

    /** Whether inference runs through the FBGEMM packing. */
    public boolean isPacked() {
        return packed != null;
    }

    /**
     * Symmetric per-output-channel quantisation of a float weight [N, K] (scale = max|w|/127, zero rows get scale 1).
     * Its float temporaries are freed before it returns: left to the caller's scope, quantising a model's Linears one
     * by one would hold several float32 copies of each until the model is built.
     */
    public static Int8Weight quantize(Tensor weight) {
        long n = weight.size(0), k = weight.size(1);
        return quantizeInto(weight, emptyValues(n, k, weight.device()), emptyScales(n, weight.device()));
    }

    /** Uninitialised int8 values [N, K] for {@link #quantizeInto}. */
    public static Tensor emptyValues(long n, long k, org.bytedeco.pytorch.Device device) {
        return torch.empty(new long[] {n, k}, Tensors.options(ScalarType.Char, device), new org.bytedeco.pytorch.MemoryFormatOptional());
    }

    /** Uninitialised float32 scales [N] for {@link #quantizeInto}. */
    public static Tensor emptyScales(long n, org.bytedeco.pytorch.Device device) {
        return torch.empty(new long[] {n}, Tensors.options(ScalarType.Float, device), new org.bytedeco.pytorch.MemoryFormatOptional());
    }

    /**
     * As {@link #quantize}, into tensors the caller allocated: a loader allocates them before it makes the float
     * weight, so that freeing the float weight afterwards frees the top of the heap for the next one. Allocated the
     * other way round, each freed float weight leaves a hole the next cannot reuse, and the heap grows by a float
     * weight per Linear.
     */
    public static Int8Weight quantizeInto(Tensor weight, Tensor values, Tensor scales) {
        return quantizeInto(weight, values, scales, null);
    }

    /** As {@link #quantizeInto(Tensor, Tensor, Tensor)}, the result computing through {@code workspace}. */
    public static Int8Weight quantizeInto(Tensor weight, Tensor values, Tensor scales, Int8Workspace workspace) {
        inRowBlocks(weight, (row, rows, w) -> {
            Tensor s = rowScales(w);
            values.narrow(0, row, rows).copy_(torch.round(w.div(s.unsqueeze(1))).clamp_(
                    new org.bytedeco.pytorch.ScalarOptional(new Scalar(-127)), new org.bytedeco.pytorch.ScalarOptional(new Scalar(127))));
            scales.narrow(0, row, rows).copy_(s);
        });
        return new Int8Weight(values, scales, workspace);
    }

    /** The scales {@link #quantize} gives a weight [N, K], alone: one pass over the weight, nothing [N, K] kept. */
    public static Tensor scalesOf(Tensor weight) {
        Tensor scales = emptyScales(weight.size(0), weight.device());
        inRowBlocks(weight, (row, rows, w) -> scales.narrow(0, row, rows).copy_(rowScales(w)));
        return scales;
    }

    /** One block of a weight's rows, in float32. */
    @FunctionalInterface
    private interface RowBlock {
        void accept(long row, long rows, Tensor block);
    }

    /**
     * The weight a block of {@link #QUANTIZE_ROWS} rows at a time, each block's float temporaries freed with it: a
     * few MB, not four copies of the whole matrix.
     */
    private static void inRowBlocks(Tensor weight, RowBlock body) {
        long n = weight.size(0);
        for (long row = 0; row < n; row += QUANTIZE_ROWS) {
            long rows = Math.min(QUANTIZE_ROWS, n - row);
            try (PointerScope scope = new PointerScope()) {
                body.accept(row, rows, weight.narrow(0, row, rows).to(ScalarType.Float));
            }
        }
    }

    /** max|w_row| / 127 per row of a float32 block; an all-zero row gets 1 (its values are 0 either way). */
    private static Tensor rowScales(Tensor w) {
        Tensor absMax = w.abs().amax(new long[] {1}, false);
        return absMax.div(new Scalar(127.0)).masked_fill(absMax.eq(new Scalar(0)), new Scalar(1.0));
    }

    /**
     * From this many rows of x on, {@link #matmul} converts the weight to x's dtype and runs a dense GEMM instead of
     * the int8 kernel: the kernel is a matrix-vector design, which a prefill's many rows leave compute-bound, while a
     * GEMM reuses each converted weight across the rows. Decoding (one row a sequence) keeps the kernel.
     */
    static final long GEMM_ROWS = 16;

    /** Rows quantised at a time: a block's float32 temporaries stay a few MB at 7B widths. */
    private static final long QUANTIZE_ROWS = 256;

    public Tensor values() {
        return requireValues();
    }

    private Tensor requireValues() {
        if (valuesDropped) {
            throw new IllegalStateException("this int8 weight kept only its FBGEMM packing (emovit bench without --heatmap); "
                    + "gradients, other devices and writing need its values: load a checkpoint converted with `emovit convert --quantize int8`");
        }
        return values;
    }

    /** float32 [N]. */
    public Tensor scales() {
        return scales;
    }

    public long outFeatures() {
        return values.size(0);
    }

    public long inFeatures() {
        return values.size(1);
    }

    /** values * scales in the given dtype (for tests and for devices without the kernel). */
    public Tensor dequantize(ScalarType dtype) {
        return requireValues().to(ScalarType.Float).mul(scales.unsqueeze(1)).to(dtype);
    }

    /**
     * x [..., K] @ W^T -> [..., N] in x's dtype. On the CPU float32 activations go through the kernel in bf16 and come
     * back in float32: the kernel has vectorised paths for bf16/fp16 activations only, and with float32 ones it is
     * slower than a float32 linear itself (Int8KernelProbeTest); rounding the activations to bf16 costs about as much
     * as the weights' own int8 error.
     */
    public Tensor matmul(Tensor x) {
        ScalarType dtype = x.scalar_type().intern();
        if (!x.device().is_cpu()) {
            return torch.linear(x, dequantize(dtype));
        }
        if (packed != null && !x.requires_grad()) {
            return packed.matmul(x);
        }
        // Many rows (a prefill, a batch): compute-bound, where a GEMM in the activations' dtype beats the int8 kernel
        // (see GEMM_ROWS); and any weight the kernel cannot take. int8 values are exact in bf16 and f32; the per-row
        // scale applies to the output.
        boolean gemm = kernelValues == null || x.numel() / x.size(-1) >= GEMM_ROWS;
        // A backward pass through it (Grad-CAM, training through the frozen LLM) cannot use the kernel (no derivative)
        // nor the shared buffer (overwritten before the backward pass reads it): a converted weight of its own, which
        // autograd keeps (LayerCheckpoints bound how many at once), freed with this step otherwise.
        if (x.requires_grad() || (gemm && workspace == null)) {
            return Owned.handBack(Owned.step(() -> torch.linear(x, requireValues().to(dtype)).mul(scalesIn(dtype))));
        }
        if (gemm) {
            return workspace.linear(x, requireValues(), scalesIn(dtype));
        }
        if (dtype != ScalarType.BFloat16) {
            return matmulExact(x.to(ScalarType.BFloat16), scalesBf16).to(dtype);
        }
        return matmulExact(x, scalesBf16);
    }

    /**
     * The kernel with x in its own dtype (float32 activations take the kernel's slow, unvectorised path); only for a
     * weight the kernel takes (see {@link Int8PackMmOperands}).
     */
    Tensor matmulInOwnDtype(Tensor x) {
        ScalarType dtype = x.scalar_type().intern();
        return matmulExact(x, scalesIn(dtype));
    }

    /** The scales in the activations' dtype, as the kernel and the output scaling need them. */
    private Tensor scalesIn(ScalarType dtype) {
        return dtype == ScalarType.BFloat16 ? scalesBf16 : scales.to(dtype);
    }

    private Tensor matmulExact(Tensor x, Tensor s) {
        long k = x.size(-1);
        Tensor x2 = x.dim() == 2 ? x : x.reshape(-1, k);
        // a view at an odd offset (the last position of a batch) is copied to where the kernel can load it from
        Tensor y = Int8PackMm.mm(Int8PackMmOperands.loadable(x2), kernelValues(), s);
        if (x.dim() == 2) {
            return y;
        }
        long[] shape = Tensors.shape(x);
        shape[shape.length - 1] = values.size(0);
        return y.view(shape);
    }

    private Tensor kernelValues() {
        if (kernelValues == null) {
            requireValues();
            throw new IllegalStateException("libtorch's int8 kernel cannot take this int8 weight [" + values.size(0) + ", "
                    + values.size(1) + "] (" + Int8PackMmOperands.class.getSimpleName() + ")");
        }
        return kernelValues;
    }
}
