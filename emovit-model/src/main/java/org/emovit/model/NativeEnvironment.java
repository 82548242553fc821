package org.emovit.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Environment variables that libtorch's native libraries read once, at process start, and whose defaults cost a
 * lot on a CPU. The {@code emovit} launcher exports {@link #DEFAULTS} (a user's own value of either is kept, and an
 * empty one turns it off); Spark executors, JVMs of their own, get the driver's values through
 * {@code spark.executorEnv}; {@code emovit bench} prints what it ran with.
 * <ul>
 *   <li>{@code GLIBC_TUNABLES}: glibc's malloc maps every allocation over 32 MB (a 7B model's activations and KV
 *   caches, batched scores) fresh from the kernel and unmaps it on free, so each such tensor pays page faults on
 *   every use: about 0.3 ms per MB, a 35 MB copy 11 ms instead of 1.3 ms. One arena that keeps freed memory instead
 *   (PyTorch's caching allocator does the same on GPUs).</li>
 *   <li>{@code OMP_WAIT_POLICY=PASSIVE}: libtorch's OpenMP workers otherwise spin for a while after every parallel
 *   op, on cores that the JVM's other threads (image decoding, HTTP, Spark tasks) need meanwhile.</li>
 * </ul>
 */
public final class NativeEnvironment {
    private NativeEnvironment() {}

    /** Keep in step with the emovit launcher script. */
    public static final Map<String, String> DEFAULTS = defaults();

    private static Map<String, String> defaults() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("GLIBC_TUNABLES",
                "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296");
        m.put("OMP_WAIT_POLICY", "PASSIVE");
        m.put("GOMP_SPINCOUNT", "10000");
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * What a child process (a Spark executor) should get: this process's own value of each variable where it has
     * one (empty included: the user turned it off), else the default.
     */
    public static Map<String, String> forChildProcess(Function<String, String> env) {
        Map<String, String> out = new LinkedHashMap<>();
        DEFAULTS.forEach((name, value) -> {
            String current = env.apply(name);
            out.put(name, current != null ? current : value);
        });
        return out;
    }

    /** One line for benchmark output: each variable as this process has it. */
    public static String describe(Function<String, String> env) {
        StringBuilder line = new StringBuilder("native environment:");
        DEFAULTS.forEach((name, value) -> {
            String current = env.apply(name);
            line.append(' ').append(name).append('=')
                    .append(current == null || current.isEmpty() ? "(unset: libtorch's default)" : current);
        });
        return line.toString();
    }
}
