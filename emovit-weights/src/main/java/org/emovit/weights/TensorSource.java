package org.emovit.weights;

import java.util.Map;
import java.util.Set;

/**
 * A named collection of tensors from one or more files. Tensors returned by {@link #get} may be slices of a
 * memory-mapped file; they stay valid after {@link #close()} (the mapping is released once they are
 * unreachable), but {@code get} itself may not be called after closing. Implementations are safe for
 * concurrent {@code get} calls.
 */
public interface TensorSource extends AutoCloseable {
    /** Tensor names, in insertion / file order (unmodifiable). */
    Set<String> keys();

    /**
     * The tensor named {@code key}.
     *
     * @throws WeightsException naming the key and {@link #describe()} if there is no such tensor, or if its
     *         data cannot be read
     */
    RawTensor get(String key);

    default boolean contains(String key) {
        return keys().contains(key);
    }

    /** The file path(s) this source reads, for error messages. */
    String describe();

    /**
     * String metadata stored with the tensors: a safetensors header's {@code __metadata__}, a sharded
     * index's {@code metadata}; empty where the format has none (PyTorch checkpoints).
     */
    default Map<String, String> metadata() {
        return Map.of();
    }

    /** Closes the underlying files. Idempotent. */
    @Override
    void close();
}
