package org.emovit.model;

import org.emovit.model.quant.Int4Format;
import org.emovit.model.quant.Int4Weight;
import org.emovit.model.quant.Int8Weight;
import org.emovit.model.quant.Quantization;
import org.emovit.model.quant.PackedInt8;
import org.emovit.model.quant.Int8Workspace;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * How many libtorch threads a CPU model runs with, measured on this machine rather than assumed from the core count.
 * Decoding streams every weight once per token and is bound by memory, where more threads can lose: their wake-ups
 * and the JVM's own threads compete for the same cores (on an AVX2-only EPYC with 2 cores, 1 thread decoded an f32
 * model faster than 2). A prefill is bound by arithmetic and wants every core. So each candidate count (the cores,
 * halved down to 1) times the model's widest decode-shaped product ([1, d] x [d, ff], in the compute type, int8 where
 * the model is) and a prefill-shaped one ([96, d] x [d, ff]); the choice is the fastest decode among the counts whose
 * prefill is within 25 % of the best prefill. About a second, once per process and model shape. Small models (the
 * embedded test model) keep libtorch's default: their products say nothing about a machine.
 *
 * @param threads the count set, or 0 where the default was kept
 * @param reason  one line with the measured times, printed by bench
 */
public record ThreadChoice(int threads, String reason) {
    /** A prefill within this factor of the best one is good enough to let the decode decide. */
    static final double PREFILL_SLACK = 1.25;
    private static final int PREFILL_ROWS = 96;
    /** Decode-shaped weights timed in turn: 3 x 45 M weights, 135 MB even in int8, beyond a last-level cache. */
    private static final int STREAMED = 3;
    private static final Map<String, ThreadChoice> CHOSEN = new ConcurrentHashMap<>();

    /**
     * Measures once per (widths, dtype, quantisation) and sets the count ({@link #set}); nothing where the user set
     * OMP_NUM_THREADS, on CUDA, or for a small model, which keep libtorch's count (OpenBLAS then takes the same).
     */
    public static ThreadChoice apply(LlamaConfig text, ScalarType dtype, Quantization quantization, Device device) {
        if (!device.is_cpu()) {
            return new ThreadChoice(0, "threads: libtorch's default (not a CPU model)");
        }
        if (System.getenv("OMP_NUM_THREADS") != null) {
            set(torch.get_num_threads());
            return new ThreadChoice(0, "threads: " + torch.get_num_threads() + " (OMP_NUM_THREADS)");
        }
        if (text.hiddenSize() < PrecisionChoice.SMALL_WIDTH) {   // the small-model rule of the precision choice
            set(torch.get_num_threads());
            return new ThreadChoice(0, "threads: libtorch's default, " + torch.get_num_threads() + " (a small model)");
        }
        String key = text.hiddenSize() + "x" + text.intermediateSize() + " " + dtype + " " + quantization;
        ThreadChoice choice = CHOSEN.computeIfAbsent(key, k -> measure(text.hiddenSize(), text.intermediateSize(), dtype, quantization));
        set(choice.threads());
        return choice;
    }

    /**
     * Runs the model's products on {@code threads} threads: libtorch's own, and OpenBLAS's, which are separate.
     * libtorch's float32 matmuls run on OpenBLAS with a thread count of its own (every core by default) and threads that
     * spin after each call: on 2 cores, with libtorch at 1 thread, the tiny model's Grad-CAM passes under 8 heat-map
     * clients took 22.7 ms (median) and a stream's worst gap 64 ms; with OpenBLAS at the same 1 thread, 16.2-16.6 ms
     * and 29-31 ms. OPENBLAS_NUM_THREADS, where the user set it, is left to decide.
     */
    public static void set(int threads) {
        torch.set_num_threads(threads);
        if (System.getenv("OPENBLAS_NUM_THREADS") == null) {
            org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(threads);
        }
    }

    /**
     * The most threads worth trying: the processors the JVM sees, or libtorch's default where that is more. libtorch's
     * default alone is not enough: on this project's 2-core VMs it is 1, and the choice then never tried 2 (an int4
     * 7B decoded its products about 1.5x slower than on 2 threads).
     */
    static int cores() {
        return Math.max(torch.get_num_threads(), Runtime.getRuntime().availableProcessors());
    }

    /** The candidates: {@code cores}, halved down to 1. */
    static List<Integer> candidates(int cores) {
        List<Integer> out = new ArrayList<>();
        for (int t = Math.max(1, cores); t >= 1; t /= 2) {
            out.add(t);
            if (t == 1) {
                break;
            }
        }
        return out;
    }

    /** The count with the fastest decode among those whose prefill is within {@link #PREFILL_SLACK} of the best. */
    static int choose(List<Integer> counts, double[] decodeMs, double[] prefillMs) {
        double bestPrefill = Double.MAX_VALUE;
        for (double p : prefillMs) {
            bestPrefill = Math.min(bestPrefill, p);
        }
        int best = -1;
        for (int i = 0; i < counts.size(); i++) {
            if (prefillMs[i] <= PREFILL_SLACK * bestPrefill && (best < 0 || decodeMs[i] < decodeMs[best])) {
                best = i;
            }
        }
        return counts.get(best);
    }

    private static ThreadChoice measure(long d, long ff, ScalarType dtype, Quantization quantization) {
        List<Integer> counts = candidates(cores());
        double[] decode = new double[counts.size()], prefill = new double[counts.size()];
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard();
             Int8Workspace workspace = new Int8Workspace()) {
            // Values do not change the time; where the weights come from does. A decoding step streams every weight
            // from memory, so the decode-shaped product takes its weight from a rotation of STREAMED matrices, larger
            // together than any last-level cache: one 45 MB matrix timed again and again sat partly in a 32 MB L3, and
            // on an emulated AVX2-only CPU (int8) it had 1 thread beat 2 (4.6 / 5.3 ms), where 8 layers at 7B widths
            // decode at 150-171 ms/token with 1 thread and 96-140 with 2 (7B: 754 ms/token with the 1 it chose); rotated,
            // 2 threads win (3.6 / 5.5 ms). Made directly in its type: an f32 source to quantise
            // would add 180 MB per matrix to the peak memory.
            LinearWeight[] weights = new LinearWeight[STREAMED];
            for (int i = 0; i < STREAMED; i++) {
                weights[i] = switch (quantization) {
                    case INT4 -> Int4Format.accepts(ff, d) ? LinearWeight.of(int4Weight(ff, d)) : LinearWeight.of(int8Weight(ff, d, workspace));
                    case INT8 -> LinearWeight.of(int8Weight(ff, d, workspace));
                    case NONE -> LinearWeight.of(torch.full(new long[] {ff, d}, new Scalar(0.01), Tensors.options(dtype, new Device("cpu"))));
                };
            }
            Tensor one = torch.full(new long[] {1, d}, new Scalar(0.5), Tensors.options(dtype, new Device("cpu")));
            Tensor many = torch.full(new long[] {PREFILL_ROWS, d}, new Scalar(0.5), Tensors.options(dtype, new Device("cpu")));
            for (int i = 0; i < counts.size(); i++) {
                set(counts.get(i));
                // One pass over the rotation per sample, as a decoding step runs one product after another.
                decode[i] = medianMs(() -> {
                    Tensor y = null;
                    for (LinearWeight w : weights) {
                        y = Ops.linear(one, w, null);
                    }
                    return y;
                }, 7) / STREAMED;
                prefill[i] = medianMs(() -> Ops.linear(many, weights[0], null), 5);
            }
        }
        int chosen = choose(counts, decode, prefill);
        StringBuilder times = new StringBuilder();
        for (int i = 0; i < counts.size(); i++) {
            times.append(String.format(Locale.ROOT, "%s%d: %.2f / %.1f ms", i > 0 ? ", " : "", counts.get(i), decode[i], prefill[i]));
        }
        return new ThreadChoice(chosen, String.format(Locale.ROOT, "threads: %d, measured (decode-shaped [1,%d]x[%d,%d] / prefill-shaped "
                + "[%d,%d] %s product per thread count: %s)", chosen, d, d, ff, PREFILL_ROWS, d,
                quantization.any() ? quantization.name().toLowerCase(Locale.ROOT) : dtype.toString().toLowerCase(Locale.ROOT), times));
    }

    /**
     * An int8 weight as the model will run it: packed for FBGEMM where a model's LLM is (see {@link PackedInt8}),
     * else converted for many rows into a workspace that is reused, as the model's (a fresh 180 MB float32 copy per
     * prefill-shaped call made 2 threads time 63-126 ms against 1 thread's 59 on an emulated AVX2 CPU).
     */
    private static Int8Weight int8Weight(long ff, long d, Int8Workspace workspace) {
        Int8Weight w = new Int8Weight(torch.full(new long[] {ff, d}, new Scalar(1), Tensors.options(ScalarType.Char, new Device("cpu"))),
                torch.full(new long[] {ff}, new Scalar(0.01), Tensors.options(ScalarType.Float, new Device("cpu"))), workspace);
        return PackedInt8.available() ? w.packed(w.values()) : w;
    }

    /** A 4-bit weight as a checkpoint's loads: its stored levels and scales, run by the kernel the model's would take. */
    private static Int4Weight int4Weight(long ff, long d) {
        Tensor values = torch.full(Int4Format.valuesShape(ff, d), new Scalar(0x97), Tensors.options(ScalarType.Byte, new Device("cpu")));
        Tensor scales = torch.full(Int4Format.WRITTEN.paramsShape(ff, d), new Scalar(0.01), Tensors.options(Int4Format.PARAMS_TYPE, new Device("cpu")));
        return Int4Weight.load(values, scales, values, "thread choice", "ThreadChoice");
    }

    private static double medianMs(java.util.function.Supplier<Tensor> call, int runs) {
        try (PointerScope warm = new PointerScope()) {
            call.get();
        }
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            try (PointerScope s = new PointerScope()) {
                call.get();
            }
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        java.util.Arrays.sort(ms);
        return ms[runs / 2];
    }
}
