package org.emovit.model.quant;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Tensors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The native 4-bit product against the float product on the dequantised weight: the only difference is the int8
 * rounding of the activations (per group of 32, d = max|x| / 127), which on normal activations leaves a relative
 * error of about 0.005 (measured 0.003-0.005 over these shapes); {@link #BOUND} is twice that, and a product that
 * misreads the format (nibbles swapped, or one level off) lands far beyond it.
 */
class Int4NativeTest {
    private static final Device CPU = new Device("cpu");
    private static final double BOUND = 0.01;
    /** Shapes [N, K]: N not a multiple of a row block (16, 8), K = 32 x odd, and a 7B-like width. */
    private static final long[][] SHAPES = {{100, 96}, {77, 160}, {33, 224}, {264, 4096}, {40, 11008 / 8}};
    private static final long[] ROWS = {1, 7, 96};

    private static Tensor randn(long... shape) {
        return torch.randn(shape, Tensors.options(ScalarType.Float, CPU));
    }

    private static double relErr(Tensor a, Tensor ref) {
        return a.to(ScalarType.Float).sub(ref).norm().item_double() / ref.norm().item_double();
    }

    private static void assumeNative() {
        Assumptions.assumeTrue(NativeInt4.available(), () -> "no native 4-bit kernel: " + NativeInt4.unavailableReason());
    }

    @Test
    void everyVariantIsTheDequantisedProductUpToActivationRounding() {
        assumeNative();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(11);
            int best = NativeInt4.isa0Checked();
            for (long[] shape : SHAPES) {
                for (Int4Format.Scheme scheme : Int4Format.Scheme.values()) {
                    everyVariantOf(Int4Weight.quantize(randn(shape[0], shape[1]), scheme), best);
                }
            }
        }
    }

    /** One stored weight through every ISA variant up to {@code best} and 1-3 threads, against its dequantised product. */
    private static void everyVariantOf(Int4Weight.Stored s, int best) {
        Tensor dense = Int4Weight.withoutKernel(s).dequantize(ScalarType.Float);
        long n = s.values().size(0), k = s.values().size(1) * 2;
        for (long m : ROWS) {
            Tensor x = randn(m, k);
            Tensor ref = torch.linear(x, dense);
            String at = "[" + m + ", " + k + "] x [" + n + ", " + k + "], " + Int4Format.Scheme.of(s.params());
            Tensor y = null;
            for (int isa = NativeInt4.AVX2; isa <= best; isa++) {
                for (int threads : new int[] {1, 2, 3}) {
                    Tensor yi = NativeInt4.mm(s.values(), s.params(), x, threads, isa);
                    assertThat(relErr(yi, ref)).as(NativeInt4.isaName(isa) + ", " + threads + " threads, " + at).isLessThan(BOUND);
                    if (y == null) {
                        y = yi;
                    } else {   // the same integer sums, float ones in another order at most
                        assertThat(relErr(yi, y)).as(NativeInt4.isaName(isa) + ", " + threads + " threads, " + at).isLessThan(1e-5);
                    }
                }
            }
        }
    }

    /**
     * Threads claim chunks of 64 rows from one counter, jobs back to back (a product of more than 8 rows is two: its
     * activations quantised, then the product): small products, each on 1 and on 2-4 threads, must agree to the bit.
     * A smoke test: a claim that outran a job's chunk count once made 1 pair in about 10,000 differ (a chunk counted for
     * the next job) or crash in a C loop, src/test/c/int4_stress.c, whose pace a Java loop does not reach (20,000 pairs
     * here missed it); run that one after changing the pool.
     */
    @Test
    void productsOnManyThreadsAreTheOneThreadProductToTheBit() {
        assumeNative();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(15);
            java.util.Random random = new java.util.Random(15);
            Int4Weight.Stored s;
            Tensor x;
            try (PointerScope outer = new PointerScope()) {
                s = Int4Weight.quantize(randn(700, 640));
                x = randn(20, 640);
                s.values().retainReference();
                s.params().retainReference();
                x.retainReference();
            }
            for (int i = 0; i < 2000; i++) {
                try (PointerScope scope = new PointerScope()) {
                    long n = 1 + random.nextInt(700), k = 32L * (1 + random.nextInt(20)), m = 1 + random.nextInt(20);
                    int isa = NativeInt4.AVX2 + random.nextInt(NativeInt4.isa0Checked());
                    Tensor v = s.values().narrow(0, 0, n).narrow(1, 0, k / 2).contiguous();
                    Tensor p = s.params().narrow(0, 0, k / Int4Format.GROUP).narrow(1, 0, n).contiguous();
                    Tensor xi = x.narrow(0, 0, m).narrow(1, 0, k).contiguous();
                    Tensor one = NativeInt4.mm(v, p, xi, 1, isa);
                    Tensor many = NativeInt4.mm(v, p, xi, 2 + random.nextInt(3), isa);
                    assertThat(one.equal(many)).as("[%d, %d] x [%d, %d], %s", m, k, n, k, NativeInt4.isaName(isa)).isTrue();
                }
            }
        }
    }

    @Test
    void theBoundCatchesAProductThatMisreadsTheFormat() {
        assumeNative();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(12);
            Int4Weight.Stored s = Int4Weight.quantize(randn(100, 160));
            Tensor x = randn(7, 160);
            Tensor y = NativeInt4.mm(s.values(), s.params(), x, 2, NativeInt4.isa());
            Tensor right = torch.linear(x, Int4Weight.withoutKernel(s).dequantize(ScalarType.Float));
            assertThat(relErr(y, right)).isLessThan(BOUND);
            // the stored bytes read with their nibbles swapped (odd columns low)
            Tensor swapped = s.values().bitwise_right_shift(new Scalar(4)).bitwise_or(s.values().bitwise_left_shift(new Scalar(4)));
            Tensor misread = torch.linear(x, Int4Weight.withoutKernel(new Int4Weight.Stored(swapped, s.params())).dequantize(ScalarType.Float));
            assertThat(relErr(y, misread)).isGreaterThan(10 * BOUND);
            // every level one step off (q - 7 instead of q - 8)
            Tensor scales = Int4Format.Scheme.of(s.params()) == Int4Format.Scheme.SYMMETRIC ? s.params() : s.params().select(2, 0);
            Tensor scale = scales.t().to(ScalarType.Float).repeat_interleave(Int4Format.GROUP,
                    new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional());
            Tensor offByOne = torch.linear(x, Int4Weight.withoutKernel(s).dequantize(ScalarType.Float).add(scale));
            assertThat(relErr(y, offByOne)).isGreaterThan(2 * BOUND);
        }
    }

    @Test
    void aWeightRunsTheNativeKernelInAnyDtypeAndShape() {
        assumeNative();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(13);
            Tensor w = randn(200, 96);
            Int4Weight q = Int4Weight.of(w, Int4Weight.Kernel.NATIVE);
            assertThat(q.kernel()).isEqualTo(Int4Weight.Kernel.NATIVE);
            assertThat(q.usesKernel()).isTrue();
            Tensor dense = q.dequantize(ScalarType.Float);
            Tensor x = randn(2, 3, 96);
            Tensor ref = torch.linear(x, dense);
            Tensor y = q.matmul(x);
            assertThat(Tensors.shape(y)).containsExactly(2, 3, 200);
            assertThat(y.scalar_type().intern()).isEqualTo(ScalarType.Float);
            assertThat(relErr(y, ref)).isLessThan(BOUND);
            Tensor yb = q.matmul(x.to(ScalarType.BFloat16));
            assertThat(yb.scalar_type().intern()).isEqualTo(ScalarType.BFloat16);
            assertThat(relErr(yb, ref)).isLessThan(BOUND);
            // a non-contiguous activation (a transposed view) is copied, not misread
            Tensor xt = randn(96, 5).t();
            assertThat(relErr(q.matmul(xt), torch.linear(xt, dense))).isLessThan(BOUND);
        }
    }

    @Test
    void theLibtorchKernelStillRunsWhereChosen() {
        Assumptions.assumeTrue(Int4Kernel.available(), "no 4-bit kernel in this libtorch");
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(14);
            Int4Weight q = Int4Weight.of(randn(128, 64), Int4Weight.Kernel.LIBTORCH);
            assertThat(q.kernel()).isEqualTo(Int4Weight.Kernel.LIBTORCH);
            Tensor x = randn(4, 64);
            assertThat(relErr(q.matmul(x), torch.linear(x, q.dequantize(ScalarType.Float)))).isLessThan(0.01);
        }
    }

    @Test
    void theChoiceParsesAndRefusesNamingTheSetting() {
        assertThat(Int4KernelChoice.parse(null)).isEqualTo(Int4KernelChoice.AUTO);
        assertThat(Int4KernelChoice.parse(" Libtorch ")).isEqualTo(Int4KernelChoice.LIBTORCH);
        assertThat(Int4KernelChoice.parse("native")).isEqualTo(Int4KernelChoice.NATIVE);
        assertThat(Int4KernelChoice.parse("dense").kernelFor(128, 64)).isEqualTo(Int4Weight.Kernel.DENSE);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Int4KernelChoice.parse("fast"))
                .hasMessage("emovit.int4.kernel / EMOVIT_INT4_KERNEL: auto, native, libtorch or dense, not 'fast'");
        assertThat(Int4KernelChoice.AUTO.kernelFor(128, 64)).isEqualTo(NativeInt4.available() ? Int4Weight.Kernel.NATIVE
                : Int4Kernel.available() ? Int4Weight.Kernel.LIBTORCH : Int4Weight.Kernel.DENSE);
    }

    /**
     * Every 4-bit weight the native kernel runs asks for 2 MB pages before its bytes are first written or read
     * (NativeInt4.preferHugePages): a freshly quantised one, a checkpoint's, which is read from its file into memory
     * of its own (QuantizedLinears.resident), and one with no file behind it, used where it is mapped. The mapping's
     * flags say whether the advice was taken ("hg" in /proc/self/smaps), whatever huge pages the kernel then finds;
     * each multiplies as the others.
     */
    @Test
    void weightsAskForHugePagesBeforeTheirBytesAreTouched(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        assumeNative();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            torch.manual_seed(21);
            Tensor dense = randn(1024, 4096);
            Int4Weight fresh = Int4Weight.of(dense);
            assertThat(Mapping.containing(fresh.nativeOperands()[0]).flags()).as("quantised levels' mapping").contains("hg");

            Int4Weight.Stored s = Int4Weight.quantize(dense);
            org.emovit.convert.SafetensorsDirectoryWriter.write(tmp, java.util.Map.of("m.weight", s.values(),
                    Int4Format.WRITTEN.params.of("m.weight"), s.params()), null, 1L << 30);
            Tensor x = randn(3, 4096);
            try (org.emovit.weights.TensorSource files = org.emovit.weights.Safetensors.openDir(tmp)) {
                for (boolean fromFile : new boolean[] {true, false}) {
                    org.emovit.model.StateDict dict = new org.emovit.model.StateDict(ScalarType.Float, CPU);
                    for (String key : files.keys()) {
                        dict.put(key, new org.emovit.model.StateDict.Entry(files.get(key).shape(), "f", () -> Tensors.viewOf(files.get(key)),
                                fromFile ? target -> files.readInto(key, target) : null));
                    }
                    Int4Weight loaded = dict.takeLinear("m.weight", 1024, 4096).int4();
                    Mapping m = Mapping.containing(loaded.nativeOperands()[0]);
                    assertThat(m.name().endsWith("model.safetensors")).as("levels used where they are mapped").isEqualTo(!fromFile);
                    assertThat(m.flags()).as("levels' mapping, read from the file: " + fromFile).contains("hg");
                    assertThat(relErr(loaded.matmul(x), fresh.matmul(x))).isLessThan(1e-6);
                }
            }
        }
    }

    /** One mapping of this process, as /proc/self/smaps lists it: what it maps, and its VmFlags. */
    private record Mapping(String name, java.util.List<String> flags) {
        static Mapping containing(long address) throws java.io.IOException {
            String name = null;
            boolean inside = false;
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/smaps"))) {
                String[] f = line.trim().split("\\s+");
                if (f[0].matches("[0-9a-f]+-[0-9a-f]+")) {
                    String[] range = f[0].split("-");
                    inside = Long.compareUnsigned(Long.parseUnsignedLong(range[0], 16), address) <= 0
                            && Long.compareUnsigned(address, Long.parseUnsignedLong(range[1], 16)) < 0;
                    name = f.length > 5 ? f[5] : "";
                } else if (inside && f[0].equals("VmFlags:")) {
                    return new Mapping(name, java.util.List.of(f).subList(1, f.length));
                }
            }
            throw new AssertionError("no mapping holds " + Long.toHexString(address));
        }
    }
}
