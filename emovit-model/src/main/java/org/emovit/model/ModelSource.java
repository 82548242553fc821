package org.emovit.model;

import java.nio.file.Path;

/**
 * Where a model's weights are: a Hugging Face InstructBLIP directory, or LAVIS's parts (EVA ViT state dict,
 * InstructBLIP checkpoint, Vicuna directory) with a preset name or an HF-style config.json for the sizes;
 * either optionally with an EmoVIT overlay of tuned tensors.
 */
public record ModelSource(Path hfDirectory, Path lavisVit, Path lavisInstructBlip, Path vicunaDirectory,
                          String preset, Path config, Path overlay) {

    public static ModelSource huggingFace(Path dir) {
        return new ModelSource(dir, null, null, null, null, null, null);
    }

    public static ModelSource lavis(Path vit, Path instructBlip, Path vicunaDir, String preset, Path config) {
        return new ModelSource(null, vit, instructBlip, vicunaDir, preset, config, null);
    }

    public ModelSource withOverlay(Path file) {
        return new ModelSource(hfDirectory, lavisVit, lavisInstructBlip, vicunaDirectory, preset, config, file);
    }

    public boolean isHuggingFace() {
        return hfDirectory != null;
    }

    /** The directory holding the LLM's tokenizer.model. */
    public Path llmTokenizerDirectory() {
        return isHuggingFace() ? hfDirectory : vicunaDirectory;
    }
}
