package org.emovit.model.quant;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Tensors;

/**
 * emovit's own 4-bit product (src/main/c/emovit_int4.c, plain JNI): it multiplies by the stored levels and the stored
 * group-major scales (and zeros, in affine files) of {@link Int4Format} directly, with activations quantised per group of 32 to int8, so
 * a weight needs no packing. AVX-512 VNNI where the CPU has it, else AVX2; its threads are its own (a small pthread
 * pool, as many as libtorch's thread count). The same library runs a whole LLaMA decoding step around these products
 * ({@link #decodeStep}, src/main/c/emovit_decode.c). The library is built by the Maven build on Linux x86-64 and lives in the
 * class path; it is extracted to a temporary file and loaded once, and where that fails (another OS, no compiler at
 * build time, a CPU without AVX2) {@link #available} is false and 4-bit products take libtorch's kernel; EMOVIT_DEBUG
 * prints why.
 */
public final class NativeInt4 {
    private NativeInt4() {}

    static final int NONE = 0, AVX2 = 1, AVX512 = 2;
    static final String RESOURCE = "/org/emovit/model/quant/native/linux-x86_64/libemovit_int4.so";
    /** {@code avx2} forces the AVX2 variant on an AVX-512 CPU (tests, comparisons); else the best the CPU has. */
    public static final String ISA_PROPERTY = "emovit.int4.isa";
    public static final String ISA_VARIABLE = "EMOVIT_INT4_ISA";

    /** Whether the library loaded and this CPU runs one of its variants. */
    public static boolean available() {
        return Library.ISA != NONE;
    }

    /** Why it is not available (null where it is). */
    public static String unavailableReason() {
        return Library.reason;
    }

    /** The best variant this CPU runs (tests). */
    static int isa0Checked() {
        return Library.ISA;
    }

    /** The variant products run: the CPU's best, or AVX2 where {@value #ISA_PROPERTY} asks for it. */
    static int isa() {
        return Library.CHOSEN;
    }

    static String isaName(int isa) {
        return switch (isa) {
            case AVX512 -> "AVX-512 VNNI";
            case AVX2 -> "AVX2";
            default -> "none";
        };
    }

    /** The variant's name, for a bench's header. */
    public static String describe() {
        // products of more than 8 rows run 16-row blocks in 512-bit vectors; fewer stream the nibbles in 8-row blocks
        String variant = isa() == AVX512 ? "AVX-512 VNNI: 512-bit for prefill, 256-bit for decoding" : isaName(isa());
        return available() ? "emovit's native 4-bit kernel (" + variant + ", stored nibbles, int8 activations per group of "
                + Int4Format.GROUP + ")" : "none (" + unavailableReason() + ")";
    }

    private static final class Library {
        static String reason;
        static final int ISA = load();
        static final int CHOSEN = choose(ISA);

        private static int load() {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
                return fail("no native 4-bit kernel for " + os + " " + arch, null);
            }
            try (InputStream in = NativeInt4.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    return fail(RESOURCE + " is not on the class path (built without gcc?)", null);
                }
                Path file = Files.createTempFile("emovit_int4", ".so");
                file.toFile().deleteOnExit();
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                System.load(file.toAbsolutePath().toString());
                int isa = isa0();
                return isa == NONE ? fail("this CPU has no AVX2 and FMA", null) : isa;
            } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
                return fail("the native 4-bit kernel did not load: " + e, e);
            }
        }

        private static int choose(int have) {
            String asked = System.getProperty(ISA_PROPERTY, System.getenv(ISA_VARIABLE));
            return have != NONE && asked != null && asked.trim().equalsIgnoreCase("avx2") ? AVX2 : have;
        }

        private static int fail(String why, Throwable cause) {
            reason = why;
            if (System.getenv("EMOVIT_DEBUG") != null) {
                System.err.println("[emovit] " + why);
                if (cause != null) {
                    cause.printStackTrace();
                }
            }
            return NONE;
        }
    }

    /** The output's options, made once and kept: building them per product cost more than a small product. */
    private static final class Options {
        static final org.bytedeco.pytorch.TensorOptions FLOAT_CPU = keep(Tensors.options(ScalarType.Float, new org.bytedeco.pytorch.Device("cpu")));

        private static org.bytedeco.pytorch.TensorOptions keep(org.bytedeco.pytorch.TensorOptions o) {
            o.retainReference();   // outlives whatever PointerScope the class happened to load in
            return o;
        }
    }

    /** Time spent in native products since the process started, all threads (what `bench` splits a decoding step by). */
    static final java.util.concurrent.atomic.LongAdder PRODUCT_NANOS = new java.util.concurrent.atomic.LongAdder();

    /** Checks the operands of {@link #mm(long, long, int, long, long, Tensor, int, int)}: contiguous CPU tensors of the format's dtypes. */
    static void check(Tensor values, Tensor params) {
        long n = values.size(0), k = values.size(1) * 2;
        ScalarType v = values.scalar_type().intern();
        if (!values.is_contiguous() || !params.is_contiguous() || (v != ScalarType.Byte && v != ScalarType.Char)
                || params.scalar_type().intern() != ScalarType.BFloat16 || k % Int4Format.GROUP != 0
                || !java.util.Arrays.equals(Tensors.shape(params), Int4Format.Scheme.of(params).paramsShape(n, k))) {
            throw new IllegalArgumentException("native int4 operands: values " + java.util.Arrays.toString(Tensors.shape(values)) + " " + v
                    + ", group parameters " + java.util.Arrays.toString(Tensors.shape(params)) + " " + params.scalar_type().intern()
                    + " (contiguous U8 [N, K/2] and BF16 [K/32, N] or [K/32, N, 2] needed)");
        }
    }

    /**
     * x [M, K] @ W^T → float32 [M, N], W the stored levels (U8, or a file copy in int8) [N, K/2] at {@code values} and
     * their bf16 group parameters at {@code params}, {@code perGroup} a group and row (1: scales [K/32, N], 2: scales
     * and zeros [K/32, N, 2]; contiguous, {@link #check}ed, kept alive by the caller), on {@code threads} threads with
     * the {@code isa} variant.
     */
    static Tensor mm(long values, long params, int perGroup, long n, long k, Tensor x, int threads, int isa) {
        long m = x.size(0);
        if (x.size(1) != k) {
            throw new IllegalArgumentException("native int4 product: [" + m + ", " + x.size(1) + "] x [" + n + ", " + k + "]^T");
        }
        // float32 and contiguous (copied only where it is not), referenced until the call returns
        Tensor x2 = x.scalar_type().intern() == ScalarType.Float && x.is_contiguous() ? x : x.to(ScalarType.Float).contiguous();
        Tensor y = torch.empty(new long[] {m, n}, Options.FLOAT_CPU, new MemoryFormatOptional());
        long start = System.nanoTime();
        int rc = mm(values, params, perGroup, n, k, x2.data_ptr().address(), m, y.data_ptr().address(), threads, isa);
        PRODUCT_NANOS.add(System.nanoTime() - start);
        if (rc != 0) {
            throw new IllegalStateException("native int4 product [" + m + ", " + k + "] x [" + n + ", " + k + "]^T failed: "
                    + (rc == -2 ? isaName(isa) + " is not supported by this CPU" : "out of memory"));
        }
        return y;
    }

    /** As {@link #mm(long, long, int, long, long, Tensor, int, int)} on tensors (tests). */
    static Tensor mm(Tensor values, Tensor params, Tensor x, int threads, int isa) {
        Tensor v = values.contiguous(), p = params.contiguous();
        check(v, p);
        return mm(v.data_ptr().address(), p.data_ptr().address(), Int4Format.Scheme.of(p).perGroup, v.size(0), v.size(1) * 2, x,
                threads, isa);
    }

    /** Nanoseconds of native 4-bit products so far in this process: single products and those of decoding steps. */
    static long productNanos() {
        return PRODUCT_NANOS.sum() + (available() ? stepProductNanos() : 0);
    }

    /**
     * One decoding step of a LLaMA decoder whose Linear weights are all native 4-bit ones (src/main/c/emovit_decode.c,
     * whose header gives the operands' layouts): {@code h} [b, d] float32 holds the new positions' embeddings and gets
     * the last layer's output; the new keys and values are written into the cache buffers at {@code write}'s columns.
     */
    public static void decodeStep(DecodeOperands o, long h, long b, long positions, long caches, long columns, long mask,
                                  long attend, long write) {
        int rc = decodeStep(o.table(), o.layers(), o.hidden(), o.intermediate(), o.heads(), o.kvHeads(), o.headDim(), o.eps(),
                o.bf16() ? 1 : 0, o.perGroup(), h, b, o.cos(), o.sin(), o.tableRows(), positions, caches, columns, mask, attend, write,
                torch.get_num_threads(), isa());
        if (rc != 0) {
            throw new IllegalStateException("native decoding step of " + b + " row(s) failed: " + switch (rc) {
                case -2 -> isaName(isa()) + " is not supported by this CPU";
                case -3 -> "a position past the rotary table's " + o.tableRows() + " rows, or a cache column past its " + columns;
                default -> "out of memory";
            });
        }
    }

    /**
     * What a decoding step reads of the model, fixed at load: the per-layer table of norm weights and 4-bit operands
     * (int64 [layers, 16] at {@code table}), the widths, and the rotary tables' addresses; {@code bf16}: the model's
     * dtype (norm weights, rotary tables and cache) is bf16, else float32; {@code perGroup}: every weight's group
     * parameters per row ({@link Int4Format.Scheme#perGroup}).
     */
    public record DecodeOperands(long table, long layers, long hidden, long intermediate, long heads, long kvHeads, long headDim,
                                 float eps, boolean bf16, int perGroup, long cos, long sin, long tableRows) {}

    /**
     * Asks for 2 MB pages under a weight's bytes (emovit_int4.c's adviseHugePages says why), before they are first read:
     * a checkpoint's mapped weights, and freshly allocated ones. A hint; nothing where the library is missing.
     */
    static void preferHugePages(Tensor weight) {
        advise(weight, 0);
    }

    /**
     * As {@link #preferHugePages} for memory already written (the allocator may have handed back pages in use before,
     * which keep their 4 KB size): copies it into huge pages now. Not for mapped files.
     */
    static void moveToHugePages(Tensor weight) {
        advise(weight, 1);
    }

    /**
     * A contiguous tensor of {@code like}'s shape and dtype in memory of its own, asked for 2 MB pages before
     * {@code reader} fills it (with a file read: {@code like}'s mapping stays untouched); not a view of anything.
     */
    static Tensor readIntoHugePages(Tensor like, java.util.function.Consumer<java.nio.ByteBuffer> reader) {
        Tensor copy = torch.empty(Tensors.shape(like), Tensors.options(like.scalar_type().intern(), like.device()), new MemoryFormatOptional());
        preferHugePages(copy);
        reader.accept(new org.bytedeco.javacpp.BytePointer(copy.data_ptr()).capacity(copy.nbytes()).asByteBuffer());
        moveToHugePages(copy);   // where the allocator handed back pages that were in use before
        return copy;
    }

    private static void advise(Tensor weight, int collapse) {
        if (available() && weight.device().is_cpu() && weight.numel() > 0) {
            adviseHugePages(weight.data_ptr().address(), weight.nbytes(), collapse);
        }
    }

    private static native int isa0();

    private static native int adviseHugePages(long address, long bytes, int collapse);

    private static native long stepProductNanos();

    private static native int decodeStep(long table, long layers, long d, long ff, long heads, long kvHeads, long headDim, float eps,
                                         int bf16, int perGroup, long h, long b, long cos, long sin, long tableRows, long positions, long caches,
                                         long columns, long mask, long attend, long write, int threads, int isa);

    private static native int mm(long values, long params, int perGroup, long n, long k, long x, long m, long y, int threads, int isa);
}
