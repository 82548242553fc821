package org.emovit.spark;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.emovit.generate.Blip2Captioner;
import org.emovit.generate.EmoVit;
import org.emovit.generate.ModelSpec;

/**
 * The models of this JVM: each is loaded the first time a task asks for it and then kept for every later task
 * (and job) in the same executor, since loading a 7B model takes far longer than a partition's work. Weights are
 * memory-mapped, so executors on one host share the page cache. Callers lock the model they use: EmoVit and the
 * captioner are not thread-safe, and an executor runs several tasks at once.
 */
final class ModelCache {

    /** What identifies a BLIP-2 OPT captioner: its directory, precision, device and decoding. */
    record Blip2Key(String dir, ModelSpec spec, Decoding decoding) {}

    private static final Map<Object, AutoCloseable> MODELS = new HashMap<>();

    private ModelCache() {}

    static synchronized EmoVit emovit(ModelSpec spec) {
        return (EmoVit) MODELS.computeIfAbsent(spec, s -> ((ModelSpec) s).open());
    }

    static synchronized Blip2Captioner blip2(Blip2Key key) {
        return (Blip2Captioner) MODELS.computeIfAbsent(key, k -> new Blip2Captioner(Path.of(key.dir()),
                key.spec().scalarType(), key.spec().torchDevice(), key.decoding().config()));
    }
}
