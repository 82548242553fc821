package org.emovit.spark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.emovit.generate.Blip2Captioner;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;

/**
 * The models of this JVM: each is loaded the first time a task asks for it and then kept for every later task
 * (and job) in the same executor, since loading a 7B model takes far longer than a partition's work. Weights are
 * memory-mapped, so executors on one host share the page cache. Callers lock the model they use: EmoVit and the
 * captioner are not thread-safe, and an executor runs several tasks at once.
 */
final class ModelCache {

    /** What identifies a BLIP-2 OPT captioner: its directory, precision, device and decoding. */
    record Blip2Key(String dir, ModelSpec spec, GenerationConfig decoding) {}

    private static final Map<Object, AutoCloseable> MODELS = new HashMap<>();
    private static boolean closed;

    static {
        // An executor ends with its JVM (Spark stops it with System.exit), and nothing else would ever close these
        // models: their native memory (GPU memory, libtorch's mapped weights) would then be torn down by the exit
        // itself, while libtorch's static destructors run, which is where a CUDA context with live tensors can
        // crash or hang the exit. A hook registered once closes them first. Spark's own ShutdownHookManager is
        // internal to Spark (private[spark]), hence the JVM's.
        Runtime.getRuntime().addShutdownHook(new Thread(ModelCache::closeAll, "emovit-model-cache-close"));
    }

    private ModelCache() {}

    static synchronized EmoVit emovit(ModelSpec spec) {
        return (EmoVit) MODELS.computeIfAbsent(spec, s -> open(() -> ((ModelSpec) s).open()));
    }

    static synchronized Blip2Captioner blip2(Blip2Key key) {
        return (Blip2Captioner) MODELS.computeIfAbsent(key, k -> open(() -> new Blip2Captioner(Path.of(key.dir()),
                key.spec().scalarType(), key.spec().torchDevice(), key.decoding())));
    }

    private static AutoCloseable open(java.util.function.Supplier<AutoCloseable> loader) {
        if (closed) {
            throw new IllegalStateException("this executor is shutting down: no model is loaded any more");
        }
        return loader.get();
    }

    /**
     * Closes every model, each under its own lock, so a task still inside a forward pass finishes it first (tasks
     * hold that lock while they use the model).
     */
    static void closeAll() {
        List<AutoCloseable> models;
        synchronized (ModelCache.class) {
            closed = true;
            models = new ArrayList<>(MODELS.values());
            MODELS.clear();
        }
        for (AutoCloseable m : models) {
            synchronized (m) {
                try {
                    m.close();
                } catch (Exception e) {
                    System.err.println("emovit: closing a cached model failed: " + org.emovit.core.Errors.firstLine(e));
                }
            }
        }
    }
}
