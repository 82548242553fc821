package org.emovit.model;

import org.bytedeco.pytorch.Tensor;

/**
 * Ownership of native memory, in one place: libtorch's tensors live outside the Java heap, where the GC does not
 * see them, so every tensor is either in a {@link org.bytedeco.javacpp.PointerScope} (freed when the scope closes)
 * or owned (taken out of its scope, freed by whoever keeps it, with close()). State kept between calls (a KV cache,
 * a decoding batch's rows) is owned; everything else lives in the scope of the call, the step or the layer that
 * made it.
 */
public final class Owned {
    private Owned() {}

    /**
     * Takes a tensor out of the current {@link org.bytedeco.javacpp.PointerScope}, so it outlives it; the caller
     * frees it with close(). Native memory is invisible to the GC, so long loops free each layer's temporaries
     * in a scope of their own and keep only what the next step needs this way.
     */
    public static Tensor own(Tensor t) {
        t.retainReference();
        org.bytedeco.javacpp.PointerScope scope = org.bytedeco.javacpp.PointerScope.getInnerScope();
        if (scope != null) {
            scope.detach(t);
        }
        return t;
    }

    /**
     * An owned tensor's successor: {@code next} is owned (see {@link #own}) and {@code old}, owned before, is freed
     * unless it is the same tensor. For state kept between calls (a KV cache, a decoding batch's rows).
     */
    public static Tensor replaceOwned(Tensor old, Tensor next) {
        Tensor owned = own(next);
        if (old != null && old != next) {
            old.close();
        }
        return owned;
    }

    /** Hands an owned tensor to the current scope, which frees it when it closes. */
    public static Tensor handBack(Tensor t) {
        org.bytedeco.javacpp.PointerScope scope = org.bytedeco.javacpp.PointerScope.getInnerScope();
        if (scope != null) {
            scope.attach(t);
            t.releaseReference();
        }
        return t;
    }

    /** Runs one step of a loop in its own scope: everything it allocates is freed, except the result (owned). */
    public static Tensor step(java.util.function.Supplier<Tensor> body) {
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            return own(body.get());
        }
    }

    /** One layer of a stack: its index and input; returns the layer's output. */
    @FunctionalInterface
    public interface Layer {
        Tensor apply(int index, Tensor input);
    }

    /**
     * Runs {@code count} layers one after another and keeps only the output: each layer runs in a scope of its
     * own, so its temporaries are freed as soon as it is done and only one hidden state lives between layers
     * (the peak is one layer's working set, not the whole stack's). The input stays the caller's; the output
     * is handed to the caller's scope. The one place the own/step/close/handBack sequence is written. With
     * {@link LayerCheckpoints} open and autograd on, the stack is checkpointed instead.
     */
    public static Tensor layerByLayer(Tensor input, int count, Layer layer) {
        LayerCheckpoints checkpoints = LayerCheckpoints.active();
        if (checkpoints != null) {
            return checkpoints.run(input, count, layer);   // a backward pass through frozen layers: see LayerCheckpoints
        }
        Tensor x = null;   // owned between layers
        for (int i = 0; i < count; i++) {
            Tensor in = x == null ? input : x;
            int index = i;
            Tensor out = step(() -> layer.apply(index, in));
            if (x != null) {
                x.close();
            }
            x = out;
        }
        return x == null ? input : handBack(x);
    }

    /** Frees owned tensors (nulls are skipped). */
    public static void free(Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t != null) {
                t.close();
            }
        }
    }

    /**
     * A scope for code outside this module (a training step, a benchmark's repetition): every tensor made while it
     * is open, and not owned, is freed when it closes.
     */
    public static Scope scope() {
        return new Scope();
    }

    /** See {@link #scope()}. */
    public static final class Scope implements AutoCloseable {
        private final org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope();

        private Scope() {}

        @Override
        public void close() {
            scope.close();
        }
    }
}
