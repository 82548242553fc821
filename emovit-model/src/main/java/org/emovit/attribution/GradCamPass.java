package org.emovit.attribution;

import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.emovit.core.Emotion;
import org.emovit.generate.CandidateScorer;
import org.emovit.model.InstructBlip;
import org.emovit.model.InstructBlipInputs;
import org.emovit.model.LayerCheckpoints;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Tensors;

/**
 * Grad-CAM of one image (see {@link Attribution}'s class comment) in pieces: the forward pass, with the loss
 * back-propagated to the checkpointed stacks' outputs; then the backward pass one layer per piece (the LLM's layers,
 * last first, then the Q-Former's), the last piece also reading the gradient at the ViT's output. The forward piece
 * is the longest (about 40% of a map on the tiny model, less the more layers there are), so a stream decoding
 * between pieces waits for at most that.
 *
 * <p>What the forward piece makes (the image features' leaf, the tensors the checkpointed layers captured and
 * recompute from) must outlive its piece without staying in a scope of the thread, where the work run between pieces
 * would attach its own tensors: the piece's scope is extended and closed (taken off the thread's stack, its tensors
 * kept) and closed again, releasing them, when the pass closes.
 */
final class GradCamPass implements MapPass {
    private final InstructBlip model;
    private final Supplier<InstructBlipInputs> inputs;
    private final long[] answer;
    private final Emotion emotion;
    private PointerScope forward;        // the forward piece's tensors, off the thread's stack, until close
    private LayerCheckpoints checkpoints;
    private Tensor leaf;                 // the ViT's output, where the gradient is read
    private float[] tokens;
    private long nanos;
    private boolean released;

    /** @param inputs the image with the classification instruction, encoded on the model's thread when the pass starts */
    GradCamPass(InstructBlip model, Supplier<InstructBlipInputs> inputs, long[] answer, Emotion emotion) {
        this.model = model;
        this.inputs = inputs;
        this.answer = answer;
        this.emotion = emotion;
    }

    @Override
    public boolean advance() {
        if (tokens != null) {
            return true;
        }
        if (released) {
            throw new IllegalStateException("the Grad-CAM pass was closed before its map was done");
        }
        long start = System.nanoTime();
        try {
            if (forward == null) {
                forward();
                return false;
            }
            checkpoints.backwardLayer();   // on through the next layer, to the ViT's output after the last
            if (!checkpoints.backwardDone()) {
                return false;
            }
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                tokens = Tensors.toFloats(leaf.grad().mul(leaf.detach()).sum(new long[] {-1}));   // [1 + patches]
            }
            release();
            return true;
        } catch (RuntimeException | Error e) {
            release();   // a piece that failed leaves nothing to go on from
            throw e;
        } finally {
            nanos += System.nanoTime() - start;
        }
    }

    /** The forward pass (the ViT without a graph, the stacks checkpointed) and the loss's gradient at the stacks' outputs. */
    private void forward() {
        forward = new PointerScope();
        try {
            InstructBlipInputs in = inputs.get();
            Tensor features;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                features = model.encodeImage(in.pixelValues());   // frozen: no graph through the ViT
            }
            // The caller may hold a no-grad guard (the server, tests): autograd for this piece alone.
            try (AutoGradMode grad = new AutoGradMode(true)) {
                checkpoints = LayerCheckpoints.open();
                try {
                    leaf = features.detach().clone().requires_grad_(true);
                    PrefillInputs prefill = model.prefillInputs(leaf, in);
                    Tensor logLikelihood = new CandidateScorer(model.languageModel()).logLikelihoodTensor(prefill, List.of(answer));
                    logLikelihood.sum().backward();   // to the stacks' outputs; only leaves' grads are kept
                } finally {
                    checkpoints.leaveThread();
                }
            }
        } finally {
            forward.extend();
            forward.close();   // off the thread's stack, its tensors kept (see the class comment)
        }
    }

    /** Per image token (CLS first), the gradient times the activation summed over channels, once the pass is done. */
    float[] tokens() {
        if (tokens == null) {
            throw new IllegalStateException("the Grad-CAM pass is not done");
        }
        return tokens;
    }

    @Override
    public PatchMap map() {
        return PatchMap.normalised(Attribution.gridSide(model), Attribution.patchScores(model, tokens(), true), emotion, PatchMap.Method.GRAD_CAM);
    }

    @Override
    public long nanos() {
        return nanos;
    }

    @Override
    public void close() {
        release();
    }

    private void release() {
        if (released) {
            return;
        }
        released = true;
        if (checkpoints != null) {
            checkpoints.close();   // the stacks' kept inputs first: they were made from the forward piece's tensors
        }
        if (forward != null) {
            forward.close();   // the second close releases what the first kept
        }
        leaf = null;
    }
}
