package org.emovit.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.emovit.data.Captioner;
import org.emovit.generate.BeamSearch;
import org.emovit.generate.GenerationConfig;
import org.emovit.generate.GreedyDecoder;
import org.emovit.generate.InstructBlipProcessor;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlip;

/**
 * Captions with the InstructBLIP model and a caption instruction (the alternative to the seed's BLIP-2 OPT
 * captioner): the same model the rest of the pipeline uses, so no second checkpoint is needed.
 */
final class ModelCaptioner implements Captioner {
    static final String DEFAULT_PROMPT = "A short image caption:";

    private final InstructBlip model;
    private final InstructBlipProcessor processor;
    private final String prompt;
    private final GenerationConfig generation;

    ModelCaptioner(InstructBlip model, InstructBlipProcessor processor, String prompt, GenerationConfig generation) {
        this.model = model;
        this.processor = processor;
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
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            InstructBlipProcessor.Batch b = processor.encode(decoded, prompts);
            Tensor embeds = model.inputEmbeddings(b.inputIds(), model.project(model.queryOutputs(model.encodeImage(b.pixelValues()),
                    b.qformerInputIds(), b.qformerAttentionMask())));
            long eos = processor.llmTokenizer().eosId();
            List<String> out = new ArrayList<>();
            if (generation.numBeams() > 1) {
                BeamSearch search = new BeamSearch(model.languageModel(), eos);
                for (int i = 0; i < images.size(); i++) {
                    out.add(processor.decode(search.generate(org.emovit.model.Ops.slice(embeds, 0, i, i + 1),
                            org.emovit.model.Ops.slice(b.attentionMask(), 0, i, i + 1), generation)));
                }
            } else {
                for (long[] t : new GreedyDecoder(model.languageModel(), eos, processor.llmTokenizer().padId())
                        .generate(embeds, b.attentionMask(), generation, null)) {
                    out.add(processor.decode(t));
                }
            }
            return out;
        }
    }

    @Override
    public String describe() {
        return "InstructBLIP (" + model.config().text().numLayers() + "-layer LLM) with the instruction \"" + prompt + "\"";
    }
}
