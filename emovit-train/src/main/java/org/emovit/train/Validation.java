package org.emovit.train;

import java.util.ArrayList;
import org.emovit.model.Owned;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.emovit.core.AnswerParser;
import org.emovit.core.Emotion;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.InstructBlipProcessor;
import org.emovit.image.EvalTransform;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlip;
import org.emovit.model.Tensors;

/**
 * Validation after each epoch: the mean LM loss on a held-out instruction set (eval transform, no gradients),
 * and, on its categorical records ("Predict emotion: X" answers), the score-mode classification accuracy.
 */
public final class Validation {

    public record Result(int epoch, double loss, double accuracy, int classified) {}

    private final InstructBlip model;
    private final Batcher batcher;
    private final InstructBlipProcessor processor;
    private final List<TrainingSample> records;
    private final int batchSize;

    public Validation(InstructBlip model, Batcher batcher, InstructBlipProcessor processor, List<TrainingSample> records, int batchSize) {
        this.model = model;
        this.batcher = batcher;
        this.processor = processor;
        this.records = records;
        this.batchSize = Math.max(1, batchSize);
    }

    /** Validates the model as it is now (its tuned tensors are the trainer's, so this sees the training so far). */
    public Result run(int epoch) {
        TrainingLoss loss = new TrainingLoss(model);
        EvalTransform transform = new EvalTransform(model.config().vision().imageSize());
        double lossSum = 0;
        int batches = 0, correct = 0, classified = 0;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int start = 0; start < records.size(); start += batchSize) {
                List<TrainingSample> chunk = records.subList(start, Math.min(records.size(), start + batchSize));
                List<TrainingSample> ok = new ArrayList<>();
                List<RgbImage> images = new ArrayList<>();
                for (TrainingSample r : chunk) {
                    try {
                        images.add(ImageDecoder.decode(r.image()));
                        ok.add(r);
                    } catch (RuntimeException e) {
                        // unreadable validation images are left out, as in training
                    }
                }
                if (ok.isEmpty()) {
                    continue;
                }
                try (Owned.Scope scope = Owned.scope()) {
                    int size = transform.size();
                    float[] flat = new float[ok.size() * 3 * size * size];
                    for (int i = 0; i < ok.size(); i++) {
                        float[] px = transform.apply(images.get(i));
                        System.arraycopy(px, 0, flat, i * px.length, px.length);
                    }
                    Tensor value = loss.fromPixels(Tensors.fromFloats(flat, ok.size(), 3, size, size), batcher.build(ok));
                    lossSum += Tensors.toFloats(value)[0];
                    batches++;
                }
                List<RgbImage> categorical = new ArrayList<>();
                List<Emotion> gold = new ArrayList<>();
                for (int i = 0; i < ok.size(); i++) {
                    AnswerParser.ParsedAnswer a = AnswerParser.parse(ok.get(i).answer());
                    if (a.emotion() != null && ok.get(i).answer().toLowerCase(java.util.Locale.ROOT).contains("predict emotion")) {
                        categorical.add(images.get(i));
                        gold.add(a.emotion());
                    }
                }
                if (!categorical.isEmpty()) {
                    List<EmoVit.Result> results = new EmoVit(model, processor)
                            .classify(categorical, EmoVit.Mode.SCORE, GenerationConfig.emovit());
                    for (int i = 0; i < results.size(); i++) {
                        classified++;
                        if (results.get(i).emotion() == gold.get(i)) {
                            correct++;
                        }
                    }
                }
            }
        }
        return new Result(epoch, batches == 0 ? Double.NaN : lossSum / batches, classified == 0 ? Double.NaN : (double) correct / classified,
                classified);
    }
}
