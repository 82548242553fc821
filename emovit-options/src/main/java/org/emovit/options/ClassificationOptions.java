package org.emovit.options;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.emovit.api.EmoVit;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * What classify, eval and the Spark classify job share: the model, how to decide (score or generate, with the
 * decoding settings), the batch size, explanations, and what a resumable results file must agree on.
 */
public final class ClassificationOptions {

    @Mixin
    ModelOptions model;

    @Mixin
    GenerationOptions generation;

    @Option(names = "--mode", defaultValue = "score",
            description = "score: likelihood of each of the 8 answers (default); generate: decode and parse \"Predict emotion: X\".")
    String mode;

    @Option(names = "--explain", description = "Also ask the model why the image evokes the predicted emotion (greedy, --explain-tokens).")
    boolean explain;

    @Option(names = "--explain-tokens", defaultValue = "80", description = "Most tokens per explanation (default: ${DEFAULT-VALUE}).")
    int explainTokens;

    @Option(names = "--batch-size", defaultValue = "4", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /**
     * Refuses, naming it, an option given where it cannot change the result (score mode decodes nothing; only an
     * explanation is decoded then, greedy with --explain-tokens). Called before the model loads.
     */
    public void check() {
        ParseResult given = command == null || command.commandLine() == null ? null : command.commandLine().getParseResult();
        if (given == null) {
            return;   // built without a command line: nothing was given by hand
        }
        if (!explain && given.hasMatchedOption("--explain-tokens")) {
            throw new IllegalArgumentException("--explain-tokens only applies with --explain");
        }
        if (mode() == EmoVit.Mode.SCORE) {
            for (String option : List.of("--beams", "--length-penalty", "--max-new-tokens")) {
                if (given.hasMatchedOption(option)) {
                    throw new IllegalArgumentException(option + " only applies with --mode generate (explanations are greedy, --explain-tokens long)");
                }
            }
            for (String option : List.of("--min-new-tokens", "--repetition-penalty")) {
                if (!explain && given.hasMatchedOption(option)) {
                    throw new IllegalArgumentException(option + " only applies with --mode generate or --explain");
                }
            }
        }
    }

    public ModelOptions model() {
        return model;
    }

    public GenerationOptions generation() {
        return generation;
    }

    public int batchSize() {
        return batchSize;
    }

    /** --explain-tokens (used only with --explain). */
    public int explainTokens() {
        return explainTokens;
    }

    /** How explanations are decoded (greedy, --explain-tokens), or null without --explain. */
    public org.emovit.generate.GenerationConfig explanation() {
        return explain ? generation.config().withNumBeams(1).withMaxNewTokens(explainTokens) : null;
    }

    public EmoVit.Mode mode() {
        return EmoVit.Mode.parse(mode, "--mode");
    }

    /** What produced a results file: the model's identity, the mode (with its decoding settings), explanations. */
    public Map<String, String> provenance() {
        Map<String, String> p = new TreeMap<>(model.spec().identity());
        p.put("mode", mode() == EmoVit.Mode.SCORE ? "score" : "generate " + generation.config());
        p.put("explain", explain ? "yes, " + explainTokens + " tokens" : "no");
        return p;
    }

    /** The batch classifier these options describe, over an opened model. */
    public org.emovit.batch.BatchClassifier classifier(EmoVit emovit) {
        return new org.emovit.batch.BatchClassifier(emovit, mode(), generation().config(), batchSize()).explaining(explanation());
    }
}
