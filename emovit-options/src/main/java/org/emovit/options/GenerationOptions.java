package org.emovit.options;

import org.emovit.generate.GenerationConfig;
import picocli.CommandLine.Option;

/** Decoding settings; the defaults are EmoVIT's generate call (greedy, repetition penalty 5). */
public final class GenerationOptions {

    @Option(names = "--beams", defaultValue = "1", description = "Beam count; 1 = greedy (EmoVIT's default). LAVIS's default is 5.")
    int beams;

    @Option(names = "--max-new-tokens", defaultValue = "256", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--min-new-tokens", defaultValue = "1", description = "Fewest tokens before EOS is allowed (default: ${DEFAULT-VALUE}).")
    int minNewTokens;

    @Option(names = "--repetition-penalty", defaultValue = "5.0", description = "HF repetition penalty (EmoVIT: 5.0, LAVIS: 1.5, off: 1).")
    double repetitionPenalty;

    @Option(names = "--length-penalty", defaultValue = "1.0", description = "Beam ranking by sum(log p) / length^penalty (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;

    public GenerationConfig config() {
        return new GenerationConfig(beams, maxNewTokens, minNewTokens, repetitionPenalty, lengthPenalty);
    }
}
