package org.emovit.model;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;

/**
 * Gradient checkpointing of layer stacks, for a backward pass through frozen layers (attribution): while one is
 * open on this thread, every stack run by {@link Owned#layerByLayer} with autograd on runs without a graph, keeps
 * only each layer's input, and returns its output as a fresh leaf. The caller back-propagates its loss to those
 * leaves, then calls {@link #backward()}, which recomputes the layers one at a time, last first, each with a graph
 * from its kept input, and carries the gradient down to the stack's input. Autograd would otherwise keep every
 * layer's activations until the backward pass; here one layer's are alive at a time (the inputs kept are one
 * hidden state per layer), for one more forward pass of the stacks.
 *
 * <p>The gradients are those of the plain pass (the same operations, recomputed). Tensors a layer captures from
 * outside (a mask, the image features the Q-Former attends to) get their gradients from the recomputation. A layer
 * must be a pure function of its input and what it captures: one that writes state (appends to a KV cache) would
 * write it twice, so only one-shot passes (score mode's, without a cache) run under this.
 *
 * <p>Measured with {@code emovit bench --heatmap}, bf16 on a 2-core CPU: at the 7B shapes a Grad-CAM map needed
 * 0.62-0.87 GB of resident memory beyond what the process held (15.2 GB) without this, 0.03-0.04 GB with it, for
 * about a fifth more time (the extra forward pass of the stacks); at 7B widths with 8 LLM layers 0.21 GB and 0.04-0.06 GB.
 */
public final class LayerCheckpoints implements AutoCloseable {
    private static final ThreadLocal<LayerCheckpoints> OPEN = new ThreadLocal<>();

    /** One stack run under checkpointing: its layers, its own input, each layer's input after the first (owned), its output leaf (owned). */
    private record Stack(Owned.Layer layer, Tensor input, List<Tensor> kept, Tensor output) {}

    private final List<Stack> stacks = new ArrayList<>();
    private final LayerCheckpoints outer;
    private int carried;   // stacks the backward pass has gone through, from the last
    private Tensor gradient;   // owned: within the stack under way, the gradient at the output of layer `layer`
    private int layer;

    private LayerCheckpoints() {
        outer = OPEN.get();
    }

    /** Opens checkpointing on this thread until {@link #close()}. */
    public static LayerCheckpoints open() {
        LayerCheckpoints c = new LayerCheckpoints();
        OPEN.set(c);
        return c;
    }

    /** The checkpointing open on this thread when autograd is on, or null (stacks then run as usual). */
    static LayerCheckpoints active() {
        LayerCheckpoints c = OPEN.get();
        return c != null && GradMode.is_enabled() ? c : null;
    }

    /** Runs the stack without a graph, keeping each layer's input; returns the output as a leaf that requires grad. */
    Tensor run(Tensor input, int count, Owned.Layer layer) {
        if (count == 0) {
            return input;
        }
        List<Tensor> kept = new ArrayList<>();   // owned
        Tensor x = input;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < count; i++) {
                Tensor in = x;
                int index = i;
                x = Owned.step(() -> layer.apply(index, in));
                if (i < count - 1) {
                    kept.add(x);   // the next layer's input
                }
            }
        }
        Tensor output = Owned.own(x.detach());
        x.close();
        output.requires_grad_(true);
        stacks.add(new Stack(layer, input, kept, output));
        return new Tensor(output);   // a second handle, in the caller's scope; the stack frees its own at close()
    }

    /**
     * After the caller's backward pass has reached the stacks' outputs: the gradient through each stack, last stack
     * first (a later stack's input depends on an earlier one's output, never the reverse), layer by layer.
     */
    public void backward() {
        while (!backwardDone()) {
            backwardLayer();
        }
    }

    /**
     * The gradient through the next layer not yet carried (last stack first, last layer first, as {@link
     * #backward()}): one piece of the backward pass, so that a caller can run other work between two layers (the
     * server decodes a token between two). The gradient at the layer's input is kept for the next call. Nothing
     * once {@link #backwardDone()}.
     */
    public void backwardLayer() {
        if (backwardDone()) {
            return;
        }
        Stack stack = stacks.get(stacks.size() - 1 - carried);
        try (AutoGradMode grad = new AutoGradMode(true)) {
            if (gradient == null) {   // the stack's first piece: the gradient at its output
                try (PointerScope scope = new PointerScope()) {
                    Tensor outputGrad = stack.output().grad();
                    if (!outputGrad.defined()) {
                        carried++;   // nothing downstream used this stack's output
                        return;
                    }
                    gradient = Owned.own(outputGrad.detach().clone());
                }
                layer = stack.kept().size();
            }
            Tensor gradOut = gradient;
            if (layer >= 1) {
                int index = layer;
                gradient = Owned.step(() -> {
                    Tensor in = stack.kept().get(index - 1).detach();
                    in.requires_grad_(true);
                    stack.layer().apply(index, in).backward(gradOut, new BoolOptional(), false, new TensorArrayRefOptional());
                    return in.grad().detach();
                });
                gradOut.close();
                layer--;
                return;
            }
            // the first layer from the stack's own input, so the gradient flows on into whatever made that input
            gradient = null;
            carried++;
            try (PointerScope scope = new PointerScope()) {
                stack.layer().apply(0, stack.input()).backward(gradOut, new BoolOptional(), false, new TensorArrayRefOptional());
            } finally {
                gradOut.close();
            }
        }
    }

    /** Whether the gradient has been carried through every layer of every stack run under this checkpointing. */
    public boolean backwardDone() {
        return carried == stacks.size();
    }

    /**
     * Ends checkpointing on this thread (the forward pass is over) but keeps the stacks for {@link
     * #backwardLayer()}: between pieces of a backward pass the thread runs other stacks as usual.
     */
    public void leaveThread() {
        if (OPEN.get() != this) {
            return;
        }
        if (outer == null) {
            OPEN.remove();
        } else {
            OPEN.set(outer);
        }
    }

    @Override
    public void close() {
        if (gradient != null) {
            gradient.close();   // a backward pass left half-way
            gradient = null;
        }
        for (Stack s : stacks) {
            s.kept().forEach(Tensor::close);
            s.output().close();
        }
        stacks.clear();
        leaveThread();
    }
}
