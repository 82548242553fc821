package org.emovit.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.emovit.data.Captioner;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.InstructBlipProcessor;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlip;

/**
 * Captions with the InstructBLIP model and a caption instruction (the alternative to the seed's BLIP-2 OPT
 * captioner): the same model the rest of the pipeline uses, so no second checkpoint is needed.
 */
final class ModelCaptioner implements Captioner {
    private final EmoVit emovit;
    private final String prompt;
    private final GenerationConfig generation;

    ModelCaptioner(InstructBlip model, InstructBlipProcessor processor, String prompt, GenerationConfig generation) {
        this.emovit = new EmoVit(model, processor);
        this.prompt = prompt;
        this.generation = generation;
    }

    @Override
    public String caption(Path image) {
        return captionBatch(List.of(image)).get(0);
    }

    @Override
    public List<String> captionBatch(List<Path> images) {
        List<RgbImage> decoded = new ArrayList<>();
        for (Path p : images) {
            decoded.add(ImageDecoder.decode(p));
        }
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            prompts.add(prompt);
        }
        List<String> out = new ArrayList<>();
        for (EmoVit.Answer a : emovit.generate(decoded, prompts, generation, null)) {
            out.add(a.text());
        }
        return out;
    }

    @Override
    public String describe() {
        return "InstructBLIP (" + emovit.model().config().text().numLayers() + "-layer LLM) with the instruction \"" + prompt + "\"";
    }
}
