package org.emovit.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import org.emovit.generate.Blip2Captioner;
import org.emovit.generate.EmbeddedModel;
import org.emovit.generate.GenerationConfig;
import org.emovit.model.InstructBlip;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The captioning model and its decoding, shared by `emovit data caption` and the Spark caption job: InstructBLIP
 * with a caption instruction (model options; embedded tiny model by default), or the seed's BLIP-2 OPT.
 */
public final class CaptionOptions {
    @Mixin
    ModelOptions model;

    @Option(names = "--caption-prompt", defaultValue = org.emovit.core.Prompts.CAPTION_INSTRUCTION, description = "Instruction for captions (default: ${DEFAULT-VALUE}).")
    String prompt;

    @Option(names = "--caption-tokens", defaultValue = "30", description = "Most tokens per caption (LAVIS: 30).")
    int tokens;

    @Option(names = "--caption-beams", defaultValue = "5", description = "Beams (LAVIS's captioning default: 5).")
    int beams;

    @Option(names = "--blip2", paramLabel = "DIR",
            description = "Caption with BLIP-2 OPT as the seed does (HF Blip2ForConditionalGeneration directory with vocab.json) "
                    + "instead of InstructBLIP with --caption-prompt.")
    Path blip2;

    public ModelOptions model() {
        return model;
    }

    public String prompt() {
        return prompt;
    }

    /** BLIP-2 OPT's directory, or null for InstructBLIP with the prompt. */
    public Path blip2() {
        return blip2;
    }

    /** The decoding captions use: beams and length from the options, no penalties (LAVIS's generate for captions). */
    public GenerationConfig decoding() {
        return new GenerationConfig(beams, tokens, 1, 1.0, 1.0);
    }

    /** The captioner and what to close when done (only the model it needs is loaded). */
    record Opened(org.emovit.data.Captioner captioner, AutoCloseable resource) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            resource.close();
        }
    }

    Opened open(PrintWriter err) {
        GenerationConfig g = new GenerationConfig(beams, tokens, 1, 1.0, 1.0);
        if (blip2 != null) {
            Blip2Captioner c = new Blip2Captioner(blip2, model.scalarType(), model.torchDevice(), g);
            org.emovit.data.Captioner captioner = new org.emovit.data.Captioner() {
                @Override
                public String caption(Path image) {
                    return c.caption(org.emovit.image.ImageDecoder.decode(image));
                }

                @Override
                public String describe() {
                    return c.describe();
                }
            };
            return new Opened(captioner, c);
        }
        if (model.isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        InstructBlip m = model.load();
        return new Opened(new ModelCaptioner(m, model.processor(m), prompt, g), m);
    }
}
