package org.emovit.model;

/**
 * How glibc's malloc, which libtorch's CPU tensors come from, should treat large allocations. By default every
 * allocation over 32 MB (a 7B model's activations and KV caches, batched scores) is mapped fresh from the kernel and
 * unmapped on free, so each such tensor pays page faults on every touch of its memory: about 0.3 ms per MB, a 35 MB
 * copy 11 ms instead of 1.3 ms. {@link #TUNABLES} keeps one arena whose freed memory is reused, as PyTorch's caching
 * allocator does on GPUs. glibc reads it only at process start, so the {@code emovit} launcher sets it and Spark
 * executors get it through {@code spark.executorEnv}; a user's own GLIBC_TUNABLES is left as it is.
 */
public final class NativeAllocator {
    private NativeAllocator() {}

    /** Keep in step with the emovit launcher script. */
    public static final String TUNABLES =
            "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296";

    /** The environment variable glibc reads. */
    public static final String VARIABLE = "GLIBC_TUNABLES";

    /** What a child process (a Spark executor) should get: this process's own setting, else {@link #TUNABLES}. */
    public static String forChildProcess(String current) {
        return current == null || current.isBlank() ? TUNABLES : current;
    }

    /** One line for benchmark output: whether large tensors reuse freed memory in this process. */
    public static String describe(String current) {
        if (current == null || current.isBlank()) {
            return "allocator: glibc defaults (tensors over 32 MB are mapped fresh each time; the emovit launcher sets "
                    + VARIABLE + " to reuse them)";
        }
        return "allocator: " + VARIABLE + "=" + current;
    }
}
