package org.emovit.options;

import java.nio.file.Path;
import org.emovit.generate.GenerationConfig;
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
}
