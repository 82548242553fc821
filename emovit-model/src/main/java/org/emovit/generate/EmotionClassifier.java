package org.emovit.generate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.emovit.eval.AnswerParser;
import org.emovit.eval.Emotion;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlip;
import org.emovit.model.Ops;

/**
 * Which of the 8 emotions an image evokes, two ways. SCORE (the default): the log-likelihood of each answer
 * "Predict emotion: &lt;label&gt;" after EmoVIT's instruction, softmaxed over the 8 — it can never answer outside
 * them. GENERATE: decode as EmoVIT's test.py does and parse "Predict emotion: X" from the text; an answer outside
 * the 8 is reported as it is.
 */
public final class EmotionClassifier {

    public enum Mode { SCORE, GENERATE }

    /**
     * @param label         the predicted label: one of the 8, or (generate mode) whatever the model answered, or null
     * @param emotion       the predicted emotion, null when the answer is not one of the 8
     * @param probabilities score mode: label -> probability (sums to 1); generate mode: empty
     * @param generated     generate mode: the decoded answer; score mode: null
     */
    public record Result(String label, Emotion emotion, Map<String, Double> probabilities, String generated) {}

    public static final String ANSWER_PREFIX = "Predict emotion: ";

    private final InstructBlip model;
    private final InstructBlipProcessor processor;
    private final List<long[]> answers = new ArrayList<>();

    public EmotionClassifier(InstructBlip model, InstructBlipProcessor processor) {
        this.model = model;
        this.processor = processor;
        for (String label : Emotion.labels()) {
            answers.add(answerTokens(label));
        }
    }

    /** An answer as the model was tuned to produce it: the text's tokens without BOS, then EOS. */
    private long[] answerTokens(String label) {
        int[] ids = processor.llmTokenizer().encode(ANSWER_PREFIX + label, false);
        long[] out = new long[ids.length + 1];
        for (int i = 0; i < ids.length; i++) {
            out[i] = ids[i];
        }
        out[ids.length] = processor.llmTokenizer().eosId();
        return out;
    }

    public List<Result> classify(List<RgbImage> images, Mode mode, GenerationConfig generation) {
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            prompts.add(Prompts.CLASSIFICATION_INSTRUCTION);
        }
        try (PointerScope scope = new PointerScope()) {
            InstructBlipProcessor.Batch batch = processor.encode(images, prompts);
            Tensor queries = model.queryOutputs(model.encodeImage(batch.pixelValues()), batch.qformerInputIds(),
                    batch.qformerAttentionMask());
            Tensor embeds = model.inputEmbeddings(batch.inputIds(), model.project(queries));
            return mode == Mode.SCORE ? score(embeds, batch.attentionMask()) : generate(embeds, batch.attentionMask(), generation);
        }
    }

    private List<Result> score(Tensor embeds, Tensor mask) {
        double[][] ll = new CandidateScorer(model.languageModel()).logLikelihoods(embeds, mask, answers);
        List<Result> out = new ArrayList<>();
        List<String> labels = Emotion.labels();
        for (double[] row : ll) {
            double[] p = CandidateScorer.softmax(row);
            Map<String, Double> probabilities = new LinkedHashMap<>();
            int best = 0;
            for (int c = 0; c < p.length; c++) {
                probabilities.put(labels.get(c), p[c]);
                if (p[c] > p[best]) {
                    best = c;
                }
            }
            out.add(new Result(labels.get(best), Emotion.fromLabel(labels.get(best)).orElseThrow(), probabilities, null));
        }
        return out;
    }

    private List<Result> generate(Tensor embeds, Tensor mask, GenerationConfig generation) {
        long eos = processor.llmTokenizer().eosId();
        List<long[]> tokens = new ArrayList<>();
        if (generation.numBeams() == 1) {
            for (long[] row : new GreedyDecoder(model.languageModel(), eos, processor.llmTokenizer().padId())
                    .generate(embeds, mask, generation, null)) {
                tokens.add(row);
            }
        } else {
            BeamSearch beams = new BeamSearch(model.languageModel(), eos);
            for (int b = 0; b < embeds.size(0); b++) {
                tokens.add(beams.generate(Ops.slice(embeds, 0, b, b + 1), Ops.slice(mask, 0, b, b + 1), generation));
            }
        }
        List<Result> out = new ArrayList<>();
        for (long[] t : tokens) {
            String text = processor.decode(mapZeroToEos(t, eos));
            AnswerParser.ParsedAnswer parsed = AnswerParser.parse(text);
            out.add(new Result(parsed.label(), parsed.emotion(), Map.of(), text));
        }
        return out;
    }

    /** The question asked for an explanation of a predicted emotion (EmoVIT's reasoning data asks such "why" questions). */
    public static String explanationQuestion(String label) {
        return "Why does this image evoke " + label + "? Explain what in the image causes this feeling.";
    }

    /** One explanation per image of why it evokes the given label, decoded as configured. */
    public List<String> explain(List<RgbImage> images, List<String> labels, GenerationConfig generation) {
        List<String> prompts = new ArrayList<>();
        for (String label : labels) {
            prompts.add(explanationQuestion(label == null ? "this emotion" : label));
        }
        try (PointerScope scope = new PointerScope()) {
            InstructBlipProcessor.Batch batch = processor.encode(images, prompts);
            Tensor queries = model.queryOutputs(model.encodeImage(batch.pixelValues()), batch.qformerInputIds(),
                    batch.qformerAttentionMask());
            Tensor embeds = model.inputEmbeddings(batch.inputIds(), model.project(queries));
            long eos = processor.llmTokenizer().eosId();
            List<String> out = new ArrayList<>();
            for (long[] t : new GreedyDecoder(model.languageModel(), eos, processor.llmTokenizer().padId())
                    .generate(embeds, batch.attentionMask(), generation.withNumBeams(1), null)) {
                out.add(processor.decode(mapZeroToEos(t, eos)));
            }
            return out;
        }
    }

    /** EmoVIT maps a generated id 0 (unk) to 2 before decoding. */
    static long[] mapZeroToEos(long[] tokens, long eos) {
        long[] out = tokens.clone();
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0) {
                out[i] = eos;
            }
        }
        return out;
    }
}
