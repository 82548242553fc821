package org.emovit.api;

import org.emovit.generate.DecodingBatch;
import org.emovit.generate.GenerationConfig;
import org.emovit.generate.GreedyDecoder;
import org.emovit.generate.BeamSearch;
import org.emovit.generate.CandidateScorer;


import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.emovit.core.AnswerParser;
import org.emovit.core.Emotion;
import org.emovit.core.EmotionResult;
import org.emovit.core.Prompts;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlip;
import org.emovit.model.PrefillInputs;

/**
 * EmoVIT from image to answer: the one entry point every front door uses (the commands, the server, the Spark
 * job, validation during training). It owns no tensors between calls: each call builds the prefill through
 * {@link InstructBlip#prefillInputs}, runs it, frees what it allocated and returns plain Java values. Not
 * thread-safe: one caller at a time drives the model (the server's worker thread, one Spark task per JVM).
 *
 * <p>Which of the 8 emotions an image evokes, two ways. SCORE (the default): the log-likelihood of each answer
 * "Predict emotion: &lt;label&gt;" after EmoVIT's instruction, softmaxed over the 8 — it can never answer
 * outside them. GENERATE: decode as EmoVIT's test.py does and parse "Predict emotion: X" from the text; an
 * answer outside the 8 is reported as it is.
 */
public final class EmoVit implements AutoCloseable {

    public enum Mode {
        SCORE, GENERATE;

        /** score or generate (any case); the error names the option or field that gave the value. */
        public static Mode parse(String value, String option) {
            for (Mode m : values()) {
                if (m.name().equalsIgnoreCase(value)) {
                    return m;
                }
            }
            throw new IllegalArgumentException(option + " must be score or generate, not '" + value + "'");
        }
    }

    /**
     * @param label         the predicted label: one of the 8, or (generate mode) whatever the model answered, or null
     * @param emotion       the predicted emotion, null when the answer is not one of the 8
     * @param probabilities score mode: label -> probability (sums to 1), alphabetical; generate mode: empty
     * @param generated     generate mode: the decoded answer; score mode: null
     */
    public record Result(String label, Emotion emotion, Map<String, Double> probabilities, String generated)
            implements EmotionResult {}

    /**
     * One generated answer.
     *
     * @param tokens       the new tokens, up to and including EOS when the model ended the answer
     * @param text         the decoded answer
     * @param promptTokens how many tokens the prompt took (image slots included), for usage accounting
     * @param stopped      true when the model produced EOS (false: the length ran out or the caller ended the row)
     */
    public record Answer(long[] tokens, String text, int promptTokens, boolean stopped) {}

    private final InstructBlip model;
    private final InstructBlipProcessor processor;
    private final List<long[]> answers = new ArrayList<>();

    public EmoVit(InstructBlip model, InstructBlipProcessor processor) {
        this.model = model;
        this.processor = processor;
        for (Emotion e : Emotion.values()) {
            answers.add(answerTokens(e));
        }
    }

    public InstructBlip model() {
        return model;
    }

    public InstructBlipProcessor processor() {
        return processor;
    }

    /** The tokens score mode scores for this emotion ("Predict emotion: &lt;label&gt;" then EOS); a copy. */
    public long[] answer(Emotion e) {
        return answers.get(e.ordinal()).clone();
    }

    /**
     * Score mode on inputs already processed (one row per image, the classification instruction as prompt): the
     * deletion check edits the pixels the model sees, after the transform, and scores those.
     */
    public List<Result> score(org.emovit.model.InstructBlipInputs inputs) {
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            return score(model.prefillInputs(inputs));
        }
    }

    /** An answer as the model was tuned to produce it: the text's tokens without BOS, then EOS. */
    private long[] answerTokens(Emotion e) {
        int[] ids = processor.llmTokenizer().encode(Prompts.answer(e), false);
        long[] out = new long[ids.length + 1];
        for (int i = 0; i < ids.length; i++) {
            out[i] = ids[i];
        }
        out[ids.length] = processor.llmTokenizer().eosId();
        return out;
    }

    /** The LLM's prefill for these images and prompts (one prompt per image). Call inside a scope. */
    public PrefillInputs prefill(List<RgbImage> images, List<String> prompts) {
        return model.prefillInputs(processor.encode(images, prompts));
    }

    /**
     * Answers one prompt per image, the rows decoded together (greedy, or beam search row by row when the config
     * asks for beams). The listener (may be null) sees every step of greedy decoding and may end rows early.
     */
    public List<Answer> generate(List<RgbImage> images, List<String> prompts, GenerationConfig config,
                                 GreedyDecoder.StepListener listener) {
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            PrefillInputs prefill = prefill(images, prompts);
            long[] promptTokens = promptTokens(prefill);
            List<long[]> rows = decode(prefill, config, listener);
            long eos = processor.llmTokenizer().eosId();
            List<Answer> out = new ArrayList<>();
            for (int b = 0; b < rows.size(); b++) {
                long[] t = rows.get(b);
                int end = 0;
                boolean stopped = false;
                while (end < t.length && !stopped) {
                    stopped = t[end++] == eos;
                }
                long[] kept = java.util.Arrays.copyOf(t, end);
                out.add(new Answer(kept, processor.decode(kept), (int) promptTokens[b], stopped));
            }
            return out;
        }
    }

    /**
     * An empty batch for continuous batching: generation rows {@link #join} it and leave it between tokens, all
     * decoded with this config's settings (greedy or sampled; the caller ends each row at its own length).
     */
    public DecodingBatch decodingBatch(GenerationConfig config) {
        if (config.numBeams() != 1) {
            throw new IllegalArgumentException("a decoding batch decodes one beam, not " + config.numBeams());
        }
        return new DecodingBatch(model.languageModel(), processor.llmTokenizer().eosId(), processor.llmTokenizer().padId(), config);
    }

    /**
     * Adds one prompt per image to a running batch, after its current rows (the same prefill as {@link #generate}).
     *
     * @return each new row's prompt length in tokens (image slots included), for usage accounting
     */
    public int[] join(DecodingBatch batch, List<RgbImage> images, List<String> prompts) {
        return join(batch, images, prompts, null);
    }

    /**
     * As {@link #join(DecodingBatch, List, List)}, the new rows decoded with these settings (null: the batch's).
     */
    public int[] join(DecodingBatch batch, List<RgbImage> images, List<String> prompts, GenerationConfig config) {
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            PrefillInputs prefill = prefill(images, prompts);
            int[] promptTokens = java.util.Arrays.stream(promptTokens(prefill)).mapToInt(t -> (int) t).toArray();
            if (config == null) {
                batch.join(prefill);
            } else {
                batch.join(prefill, config);
            }
            return promptTokens;
        }
    }

    /** How many real (unpadded) tokens each row's prompt has. */
    private static long[] promptTokens(PrefillInputs prefill) {
        return org.emovit.model.Tensors.toLongs(prefill.attentionMask().sum(1));
    }

    private List<long[]> decode(PrefillInputs prefill, GenerationConfig config, GreedyDecoder.StepListener listener) {
        long eos = processor.llmTokenizer().eosId();
        List<long[]> tokens = new ArrayList<>();
        if (config.numBeams() == 1) {
            Collections.addAll(tokens, new GreedyDecoder(model.languageModel(), eos, processor.llmTokenizer().padId())
                    .generate(prefill, config, listener));
        } else {
            BeamSearch beams = new BeamSearch(model.languageModel(), eos);
            for (int b = 0; b < prefill.batchSize(); b++) {
                tokens.add(beams.generate(prefill.rows(b, b + 1), config));
            }
        }
        return tokens;
    }

    /** The emotion of each image (see the class comment for the two modes). */
    public List<Result> classify(List<RgbImage> images, Mode mode, GenerationConfig generation) {
        List<String> prompts = Collections.nCopies(images.size(), Prompts.CLASSIFICATION_INSTRUCTION);
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            PrefillInputs prefill = prefill(images, prompts);
            return mode == Mode.SCORE ? score(prefill) : generateLabels(prefill, generation);
        }
    }

    private List<Result> score(PrefillInputs prefill) {
        double[][] ll = new CandidateScorer(model.languageModel()).logLikelihoods(prefill, answers);
        List<Result> out = new ArrayList<>();
        Emotion[] emotions = Emotion.values();
        for (double[] row : ll) {
            double[] p = CandidateScorer.softmax(row);
            Map<String, Double> probabilities = new LinkedHashMap<>();
            int best = 0;
            for (int c = 0; c < p.length; c++) {
                probabilities.put(emotions[c].label(), p[c]);
                if (p[c] > p[best]) {
                    best = c;
                }
            }
            out.add(new Result(emotions[best].label(), emotions[best], probabilities, null));
        }
        return out;
    }

    private List<Result> generateLabels(PrefillInputs prefill, GenerationConfig generation) {
        List<Result> out = new ArrayList<>();
        for (long[] t : decode(prefill, generation, null)) {
            String text = decodeAnswer(t);
            AnswerParser.ParsedAnswer parsed = AnswerParser.parse(text);
            out.add(new Result(parsed.label(), parsed.emotion(), Map.of(), text));
        }
        return out;
    }

    /** A classification and its explanation (null when none was asked for). */
    public record Classified(Result result, String explanation) {}

    /**
     * Classify then explain, the one way every front door does it: each image's emotion ({@link #classify}) and,
     * when {@code explanation} is not null, why it evokes the predicted label ({@link #explain}), decoded with those
     * settings. A failure fails the whole call; callers that must lose only one image retry image by image. (The
     * server decodes the same explanation prompt as a generation in its running batch: {@link Prompts#explanationQuestion}.)
     */
    public List<Classified> classify(List<RgbImage> images, Mode mode, GenerationConfig generation, GenerationConfig explanation) {
        List<Result> results = classify(images, mode, generation);
        List<String> explanations = explanation == null ? null : explain(images, results.stream().map(Result::label).toList(), explanation);
        List<Classified> out = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            out.add(new Classified(results.get(i), explanations == null ? null : explanations.get(i)));
        }
        return out;
    }

    /** One explanation per image of why it evokes the given label, decoded greedily with the config's settings. */
    public List<String> explain(List<RgbImage> images, List<String> labels, GenerationConfig generation) {
        List<String> prompts = labels.stream().map(Prompts::explanationQuestion).toList();
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            List<String> out = new ArrayList<>();
            for (long[] t : decode(prefill(images, prompts), generation.withNumBeams(1), null)) {
                out.add(decodeAnswer(t));
            }
            return out;
        }
    }

    /** Frees the model (its tensors and mappings). */
    @Override
    public void close() {
        model.close();
    }

    /** Decodes a classification answer or explanation as EmoVIT's test.py does: a generated id 0 (unk) becomes EOS first. */
    public String decodeAnswer(long[] tokens) {
        long eos = processor.llmTokenizer().eosId();
        long[] mapped = tokens.clone();
        for (int i = 0; i < mapped.length; i++) {
            if (mapped[i] == 0) {
                mapped[i] = eos;
            }
        }
        return processor.decode(mapped);
    }
}
