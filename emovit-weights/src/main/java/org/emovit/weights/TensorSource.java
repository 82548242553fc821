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

    /**
     * Copies the tensor's bytes into {@code target} (from its position, {@link RawTensor#nbytes()} of them). Files
     * that are mapped read them with a file read instead, so that the mapping's pages do not become resident in
     * this process (a packed copy of an int8 weight needs the bytes once; the mapping stays for later).
     */
    default void readInto(String key, java.nio.ByteBuffer target) {
        target.put(get(key).data());
    }

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
