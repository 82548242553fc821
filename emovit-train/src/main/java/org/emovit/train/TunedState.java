package org.emovit.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.emovit.model.InstructBlip;

/**
 * What training changes and what a checkpoint must hold: the tuned tensors (HF names, in the model's own
 * storage, so tuning them tunes the model) and the AdamW optimizer over them. The step loop, checkpoints and the
 * overlay export all take this rather than the trainer, so none of them needs the others.
 */
public record TunedState(Map<String, Tensor> tensors, AdamW optimizer) {

    /** The tensors EmoVIT tunes (HF names): everything but the ViT's blocks and the LLM. */
    public static boolean isTrainable(String key) {
        return key.startsWith("qformer.") || key.equals("query_tokens") || key.startsWith("language_projection.")
                || key.startsWith("vision_model.post_layernorm.");
    }

    /**
     * Marks the model's trainable tensors as requiring gradients and builds AdamW over them with LAVIS's two
     * groups: weight decay on matrices, none on 1-D tensors, biases and norms.
     */
    public static TunedState of(InstructBlip model, TrainConfig config) {
        Map<String, Tensor> tuned = new LinkedHashMap<>();
        TensorVector decay = new TensorVector(), noDecay = new TensorVector();
        for (Map.Entry<String, Tensor> p : model.namedParameters().entrySet()) {
            if (isTrainable(p.getKey())) {
                Tensor t = p.getValue();
                t.requires_grad_(true);
                tuned.put(p.getKey(), t);
                // LAVIS: no weight decay for p.ndim < 2 or names with "bias", "ln", "bn"
                boolean oneD = t.dim() < 2 || p.getKey().contains("bias") || p.getKey().contains("norm") || p.getKey().contains("LayerNorm");
                (oneD ? noDecay : decay).push_back(t);
            }
        }
        AdamWOptions withDecay = new AdamWOptions(config.initLr());
        withDecay.weight_decay().put(config.weightDecay());
        AdamWOptions without = new AdamWOptions(config.initLr());
        without.weight_decay().put(0.0);
        AdamW optimizer = new AdamW(decay, withDecay);
        optimizer.add_param_group(new OptimizerParamGroup(noDecay, without));
        return new TunedState(Collections.unmodifiableMap(tuned), optimizer);
    }

    /**
     * Ends training: the tuned tensors stop requiring gradients. libtorch picks other kernels for weights that
     * require gradients (even with autograd off), which round differently in the last bit; after this the model
     * computes exactly as one loaded with the exported overlay.
     */
    public void freeze() {
        tensors.values().forEach(t -> t.requires_grad_(false));
    }
}
