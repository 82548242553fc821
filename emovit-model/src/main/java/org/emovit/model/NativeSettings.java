package org.emovit.model;

import java.util.Locale;
import java.util.function.Function;

/**
 * The environment variables that libtorch, its OpenMP runtime (libgomp) and emovit's int8 products read, checked
 * before any of them is loaded: they read them once, at load, and answer a bad value with a crash or native noise.
 * {@code OMP_NUM_THREADS=100000} ended in a segmentation fault without a message (so did {@code MKL_NUM_THREADS},
 * which libtorch reads for its default thread count although it does not use MKL); {@code 0}, {@code -3} or
 * {@code abc} printed libgomp's and libtorch's warnings with 14 lines of C++ stack frames; an invalid
 * {@code OMP_WAIT_POLICY} or {@code GOMP_SPINCOUNT} a libgomp warning. Here each is one line naming the variable.
 * No class of this one touches libtorch, so calling it first keeps the native libraries unloaded.
 */
public final class NativeSettings {
    private NativeSettings() {}

    /**
     * The most threads a count may ask for. libtorch starts that many OpenMP workers for every parallel region, and
     * threads beyond the cores only slow it down (they take turns on them); 100000 crashed it on start. 1024 is above
     * the hardware threads of any machine this runs on (the largest x86 servers have 512) and far below what crashed
     * (4096 still ran the tiny model on 2 cores).
     */
    public static final int MAX_THREADS = 1024;

    /** The variables holding a thread count for libtorch: libgomp's and the one libtorch also reads. */
    static final String[] THREAD_COUNTS = {"OMP_NUM_THREADS", "MKL_NUM_THREADS"};

    /**
     * The first problem with this environment, as one line naming the variable, or null where every setting is
     * valid (or unset). An empty OMP_WAIT_POLICY or GOMP_SPINCOUNT is fine: the launcher's way to turn one off.
     */
    public static String problem(Function<String, String> env) {
        for (String name : THREAD_COUNTS) {
            String value = env.apply(name);
            if (value != null && !isThreadCount(value)) {
                return name + "='" + value + "' is not a thread count: give a whole number from 1 to " + MAX_THREADS
                        + " (or unset it for libtorch's default, the cores)";
            }
        }
        String policy = env.apply("OMP_WAIT_POLICY");
        if (policy != null && !policy.isBlank() && !policy.strip().toLowerCase(Locale.ROOT).matches("active|passive")) {
            return "OMP_WAIT_POLICY='" + policy + "' is neither ACTIVE nor PASSIVE";
        }
        String spin = env.apply("GOMP_SPINCOUNT");
        if (spin != null && !spin.isBlank() && !spin.strip().matches("(?i)infinite|infinity|\\d{1,15}[kmgt]?")) {
            return "GOMP_SPINCOUNT='" + spin + "' is not a spin count: a whole number (with k, M, G or T) or INFINITE";
        }
        try {
            org.emovit.model.quant.Int8KernelChoice.parse(env.apply(org.emovit.model.quant.Int8KernelChoice.VARIABLE));
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        return null;
    }

    /** Throws {@link IllegalArgumentException} with {@link #problem}'s line where there is one. */
    public static void require(Function<String, String> env) {
        String problem = problem(env);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /**
     * For a program's main method, first thing: where the environment has a problem, prints it as
     * {@code "<program>: <problem>"} and exits with 1, before libtorch loads and crashes or prints stack frames.
     */
    public static void exitIfInvalid(String program) {
        String problem = problem(System::getenv);
        if (problem != null) {
            System.err.println(program + ": " + problem);
            System.exit(1);
        }
    }

    /** Whether a value is a thread count in range: digits only (libgomp's lists "4,2" are not for libtorch). */
    static boolean isThreadCount(String value) {
        String v = value.strip();
        if (!v.matches("\\+?\\d{1,9}")) {
            return false;
        }
        int n = Integer.parseInt(v.startsWith("+") ? v.substring(1) : v);
        return n >= 1 && n <= MAX_THREADS;
    }
}
