package org.emovit.model.quant;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Owned;
import org.emovit.model.Tensors;

/**
 * A Linear weight in 4 bits ({@link Int4Format}): the stored levels and their groups' scales (and zeros, in affine files). On the CPU,
 * inference multiplies by them as stored with {@link NativeInt4} (a checkpoint's levels and params are read where
 * they are mapped, nothing packed); where that library is missing, by the same levels packed in the layout of
 * libtorch's {@link Int4Kernel} (the stored levels are then only read to pack them, from a file copy); else, and
 * wherever the dense weight is needed (gradients, other devices), by the dequantised weight. {@link Int4KernelChoice}
 * picks among them.
 */
public final class Int4Weight {
    /** What a weight's products run on. */
    public enum Kernel {
        /** {@link NativeInt4} on the stored levels. */
        NATIVE,
        /** libtorch's {@link Int4Kernel} on its packing of them. */
        LIBTORCH,
        /** A dense product on the dequantised weight. */
        DENSE
    }

    /** Rows unpacked at a time to pack or quantise (a multiple of the kernel's row block: 16 MB of int32 at K = 4096). */
    private static final long BLOCK_ROWS = 1024;

    private final Tensor values;
    private final Tensor params;
    private final Kernel kernel;
    /** libtorch's packing ({@link Kernel#LIBTORCH} only), else null. */
    private final Tensor packed;
    /**
     * The group parameters as the kernels take them: the native one, the stored ones (contiguous: mapped ones are used in
     * place); libtorch's, scales and zeros [K/G, N, 2] (a symmetric weight's with zeros added).
     */
    private final Tensor kernelParams;
    /** How the stored levels give weights: symmetric or affine groups. */
    private final Int4Format.Scheme scheme;
    /** {@link Kernel#NATIVE}: the contiguous levels it reads, and where they and the params are (0 otherwise). */
    private final Tensor nativeValues;
    private final long valuesAddress;
    private final long paramsAddress;
    private final long out;
    private final long in;

    /** The stored pair, as {@code emovit convert} writes it. */
    public record Stored(Tensor values, Tensor params) {}

    /** Scales and zeros [K/G, N, 2] for libtorch's kernel from stored parameters of either scheme. */
    private static Tensor libtorchParams(Tensor params) {
        if (Int4Format.Scheme.of(params) == Int4Format.Scheme.AFFINE) {
            return params.contiguous();
        }
        return torch.stack(new TensorVector(params, torch.zeros_like(params)), 2);
    }

    private Int4Weight(Tensor values, Tensor params, java.util.function.Supplier<Tensor> packSource) {
        this(values, params, packSource, kernelFor(values));
    }

    private Int4Weight(Tensor values, Tensor params, java.util.function.Supplier<Tensor> packSource, Kernel kernel) {
        this.out = values.size(0);
        this.in = values.size(1) * 2;
        this.values = values;
        this.params = params;
        this.scheme = Int4Format.Scheme.of(params);
        this.kernel = kernel;
        this.packed = kernel == Kernel.LIBTORCH ? pack(packSource.get(), out, in) : null;
        // mapped, already the native kernel's operand
        this.kernelParams = kernel == Kernel.NATIVE ? params.contiguous() : kernel == Kernel.LIBTORCH ? libtorchParams(params) : null;
        this.nativeValues = kernel == Kernel.NATIVE ? values.contiguous() : null;   // mapped: itself
        if (kernel == Kernel.NATIVE) {
            NativeInt4.check(nativeValues, kernelParams);
        }
        this.valuesAddress = kernel == Kernel.NATIVE ? nativeValues.data_ptr().address() : 0;
        this.paramsAddress = kernel == Kernel.NATIVE ? kernelParams.data_ptr().address() : 0;
    }

    /** The kernel {@link Int4KernelChoice} gives a weight with these stored values. */
    private static Kernel kernelFor(Tensor values) {
        return kernelFor(values.device(), values.size(0), values.size(1) * 2);
    }

    /** The kernel a weight [out, in] on this device runs on: {@link Int4KernelChoice}'s on the CPU, else dense. */
    static Kernel kernelFor(org.bytedeco.pytorch.Device device, long out, long in) {
        return device.is_cpu() ? Int4KernelChoice.current().kernelFor(out, in) : Kernel.DENSE;
    }

    /**
     * A stored weight, checked ({@link Int4Format}), packed from {@code packSource} where libtorch's kernel runs it:
     * the values themselves, or a copy of their bytes read from the file so that the mapped values stay unread.
     */
    public static Int4Weight load(Tensor values, Tensor params, Tensor packSource, String key, String origin) {
        return load(values, params, () -> packSource, key, origin);
    }

    /** As {@link #load(Tensor, Tensor, Tensor, String, String)}, the pack source made only where a packing needs it. */
    public static Int4Weight load(Tensor values, Tensor params, java.util.function.Supplier<Tensor> packSource, String key, String origin) {
        NativeInt4.preferHugePages(values);   // before the check below reads the params
        NativeInt4.preferHugePages(params);
        Int4Format.requireValidParams(params, Int4Format.Scheme.of(params).params.of(key), origin);
        return new Int4Weight(values, params, packSource);
    }

    /** A float weight [N, K] quantised and ready to multiply by (tests, a random model to convert). */
    public static Int4Weight of(Tensor dense) {
        return of(dense, true);
    }

    /**
     * As {@link #of(Tensor)}; without {@code keepValues}, and where the kernel exists, the stored levels are dropped
     * once packed (bench's model, as a checkpoint's stay unread): half the memory, and no dense weight for gradients.
     */
    public static Int4Weight of(Tensor dense, boolean keepValues) {
        Stored s = quantize(dense);
        Int4Weight w = new Int4Weight(s.values(), s.params(), s::values);
        if (keepValues || w.packed == null) {   // the native kernel's operand is the stored levels themselves
            return w;
        }
        s.values().close();
        return new Int4Weight(null, w.params, w.packed, w.kernelParams, w.out, w.in);
    }

    /** A float weight quantised in the given scheme, run by the process's kernel choice (tests). */
    static Int4Weight of(Tensor dense, Int4Format.Scheme scheme) {
        Stored s = quantize(dense, scheme);
        return new Int4Weight(s.values(), s.params(), s::values);
    }

    /** A float weight quantised, run by {@code kernel} whatever the process's choice (tests). */
    static Int4Weight of(Tensor dense, Kernel kernel) {
        Stored s = quantize(dense);
        return new Int4Weight(s.values(), s.params(), s::values, kernel);
    }

    private Int4Weight(Tensor values, Tensor params, Tensor packed, Tensor kernelParams, long out, long in) {
        this.values = values;
        this.params = params;
        this.scheme = Int4Format.Scheme.of(params);
        this.kernel = Kernel.LIBTORCH;
        this.nativeValues = null;
        this.valuesAddress = 0;
        this.paramsAddress = 0;
        this.packed = packed;
        this.kernelParams = kernelParams;
        this.out = out;
        this.in = in;
    }

    /** Whether the stored levels are kept (see {@link #of(Tensor, boolean)}). */
    public boolean hasValues() {
        return values != null;
    }

    /** As a libtorch without {@link Int4Kernel} runs it: the fallback, for tests. */
    static Int4Weight withoutKernel(Stored stored) {
        return new Int4Weight(stored.values(), stored.params(), null, Kernel.DENSE);
    }

    public long outFeatures() {
        return out;
    }

    public long inFeatures() {
        return in;
    }

    /** Whether products run through a 4-bit kernel, native or libtorch's (else the dequantised fallback). */
    public boolean usesKernel() {
        return kernel != Kernel.DENSE;
    }

    /** What CPU products without gradients run on. */
    public Kernel kernel() {
        return kernel;
    }

    /**
     * Where the native kernel reads this weight, {values, params} (the caller keeps this weight alive while it uses
     * them), or null where another kernel runs its products.
     */
    public long[] nativeOperands() {
        return kernel == Kernel.NATIVE ? new long[] {valuesAddress, paramsAddress} : null;
    }

    /** How the stored levels give weights. */
    public Int4Format.Scheme scheme() {
        return scheme;
    }

    /** The stored levels, U8 [N, K/2]. */
    public Tensor values() {
        if (values == null) {
            throw new IllegalStateException("this 4-bit weight kept only its packing (emovit bench without --heatmap); "
                    + "gradients and writing need its levels: load a checkpoint converted with `emovit convert --quantize int4`");
        }
        return values;
    }

    /** Nanoseconds spent in the native kernel's products so far in this process (0 where it never ran). */
    public static long nativeProductNanos() {
        return NativeInt4.productNanos();
    }

    /** The stored group parameters: BF16 scales [K/G, N], or scales and zeros [K/G, N, 2] ({@link #scheme}). */
    public Tensor params() {
        return params;
    }

    /**
     * x [..., K] @ W^T → [..., N] in x's dtype: the native kernel (activations quantised to int8 per group of 32: their
     * rounding is far below the weights' 4-bit error) on as many threads as libtorch's, or libtorch's kernel with bf16
     * activations (its only vectorised path), else a dense product on the dequantised weight — always where autograd
     * needs the weight.
     */
    public Tensor matmul(Tensor x) {
        ScalarType dtype = x.scalar_type().intern();
        if (kernel == Kernel.DENSE || x.requires_grad() || !x.device().is_cpu()) {
            return Owned.handBack(Owned.step(() -> torch.linear(x, dequantize(dtype))));
        }
        if (kernel == Kernel.NATIVE) {
            return Owned.handBack(Owned.step(() -> {
                Tensor y = NativeInt4.mm(valuesAddress, paramsAddress, scheme.perGroup, out, in, x.reshape(-1, in), torch.get_num_threads(),
                        NativeInt4.isa());
                long[] shape = Tensors.shape(x);
                shape[shape.length - 1] = out;
                return y.to(dtype).view(shape);
            }));
        }
        return Owned.handBack(Owned.step(() -> {
            Tensor x2 = x.reshape(-1, in).to(ScalarType.BFloat16).contiguous();
            Tensor y = Int4Kernel.mm(x2, packed, Int4Format.GROUP, kernelParams);
            long[] shape = Tensors.shape(x);
            shape[shape.length - 1] = out;
            return y.to(dtype).view(shape);
        }));
    }

    /** {@code (q - 8) * scale (+ zero)} as a dense [N, K] tensor in {@code dtype}. */
    public Tensor dequantize(ScalarType dtype) {
        long groups = params.size(0);
        Tensor q = levels(values(), 0, out).to(ScalarType.Float).view(out, groups, in / groups);
        if (scheme == Int4Format.Scheme.SYMMETRIC) {
            Tensor scale = params.to(ScalarType.Float).t().unsqueeze(2);   // [N, groups, 1]
            return q.sub(new Scalar(8.0)).mul(scale).view(out, in).to(dtype);
        }
        Tensor p = params.to(ScalarType.Float).permute(1, 0, 2);   // [N, groups, 2]
        Tensor scale = p.select(2, 0).unsqueeze(2), zero = p.select(2, 1).unsqueeze(2);
        return q.sub(new Scalar(8.0)).mul(scale).add(zero).view(out, in).to(dtype);
    }

    /** Quantisation of a float weight [N, K] in the scheme {@code emovit convert} writes ({@link Int4Format#WRITTEN}). */
    public static Stored quantize(Tensor weight) {
        return quantize(weight, Int4Format.WRITTEN);
    }

    /**
     * Quantisation of a float weight [N, K] in groups of {@link Int4Format#groupFor} columns ({@link Int4Rounding}
     * chooses the levels and parameters), a block of rows at a time.
     */
    public static Stored quantize(Tensor weight, Int4Format.Scheme scheme) {
        long n = weight.size(0), k = weight.size(1), group = Int4Format.groupFor(k);
        if (!Int4Format.accepts(n, k)) {
            throw new IllegalArgumentException("a 4-bit weight needs [N, K] with K a multiple of 8, got [" + n + ", " + k + "]");
        }
        Tensor values = torch.empty(Int4Format.valuesShape(n, k), Tensors.options(ScalarType.Byte, weight.device()), new MemoryFormatOptional());
        Tensor params = torch.empty(scheme.paramsShape(n, k), Tensors.options(Int4Format.PARAMS_TYPE, weight.device()), new MemoryFormatOptional());
        NativeInt4.preferHugePages(values);   // fresh pages then fault in huge; reused ones are moved below
        NativeInt4.preferHugePages(params);
        long blockRows = Math.max(1, QUANTIZE_ELEMENTS / k);
        for (long row = 0; row < n; row += blockRows) {
            int rows = (int) Math.min(blockRows, n - row);
            try (PointerScope scope = new PointerScope()) {
                float[] w = Tensors.toFloats(weight.narrow(0, row, rows));
                byte[] nibbles = new byte[(int) (rows * k / 2)];
                float[] p = new float[(int) (rows * (k / group) * scheme.perGroup)];
                Int4Rounding.round(w, rows, (int) k, (int) group, scheme, nibbles, p);
                values.narrow(0, row, rows).copy_(Tensors.fromBytes(nibbles, rows, k / 2));
                Tensor fitted = scheme.perGroup == 1 ? Tensors.fromFloats(p, rows, k / group).t()
                        : Tensors.fromFloats(p, rows, k / group, 2).permute(1, 0, 2);
                params.narrow(1, row, rows).copy_(fitted);
            }
        }
        NativeInt4.moveToHugePages(values);
        NativeInt4.moveToHugePages(params);
        return new Stored(values, params);
    }

    /** Weights rounded at a time: a block's float copy stays 16 MB, whatever the width. */
    private static final long QUANTIZE_ELEMENTS = 1L << 22;

    /** Rows [row, row + rows) of stored bytes [N, K/2] as int32 levels [rows, K]. */
    static Tensor levels(Tensor stored, long row, long rows) {
        // & 255: a file copy arrives in an int8 buffer, whose bytes from 128 up would otherwise widen negative
        Tensor b = stored.narrow(0, row, rows).to(ScalarType.Int).bitwise_and(new Scalar(255));
        Tensor low = b.bitwise_and(new Scalar(15)), high = b.bitwise_right_shift(new Scalar(4));
        return torch.stack(new TensorVector(low, high), 2).view(rows, stored.size(1) * 2);
    }

    /**
     * The kernel's packing of stored bytes, a block of rows at a time: the kernel's layout is blocked by
     * {@link Int4Format#ROW_BLOCK} rows, so blocks of rows pack independently (checked in Int4WeightTest), and the
     * int32 levels it takes stay a few MB rather than 4 bytes per weight.
     */
    static Tensor pack(Tensor source, long n, long k) {
        Tensor packed = torch.empty(new long[] {n, k / 2}, Tensors.options(ScalarType.Byte, source.device()), new MemoryFormatOptional());
        for (long row = 0; row < n; row += BLOCK_ROWS) {
            long rows = Math.min(BLOCK_ROWS, n - row);
            try (PointerScope scope = new PointerScope()) {
                Tensor block = Int4Kernel.pack(levels(source, row, rows));
                if (block.numel() != rows * k / 2) {
                    throw new IllegalStateException(Int4Kernel.PACK + " packed [" + rows + ", " + k + "] into " + block.numel() + " bytes, not " + rows * k / 2);
                }
                packed.narrow(0, row, rows).copy_(block.view(rows, k / 2));
            }
        }
        return packed;
    }
}
