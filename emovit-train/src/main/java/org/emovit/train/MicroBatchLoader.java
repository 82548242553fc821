package org.emovit.train;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.emovit.image.EvalTransform;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlip;
import org.emovit.model.Ops;
import org.emovit.model.Tensors;

/**
 * The data side of the step loop: which samples form a micro-batch (a shuffled order per (seed, epoch)), their
 * decoding, the train or eval transform (augmentation seeded per (seed, epoch, sample)), the frozen ViT's
 * output (from the feature cache when there is one) and the token batch. Every choice derives from the
 * position in the schedule, so a resumed run loads exactly what an uninterrupted one would. Tensors are
 * created in the caller's PointerScope.
 */
public final class MicroBatchLoader {

    /** A micro-batch ready for the loss; samples that could not be read are left out and counted in skipped. */
    public record MicroBatch(List<TrainingSample> samples, Tensor blocks, Batcher.Batch batch, int skipped) {
        public boolean isEmpty() {
            return samples.isEmpty();
        }
    }

    private final InstructBlip model;
    private final Batcher batcher;
    private final TrainConfig config;
    private final FeatureCache featureCache;
    private final List<TrainingSample> records;
    private final TrainTransform trainTransform;
    private final EvalTransform evalTransform;
    private int orderEpoch = -1;
    private List<Integer> order;

    /** @param featureCache null: run the ViT on every micro-batch */
    public MicroBatchLoader(InstructBlip model, Batcher batcher, TrainConfig config, FeatureCache featureCache, List<TrainingSample> records) {
        this.model = model;
        this.batcher = batcher;
        this.config = config;
        this.featureCache = featureCache;
        this.records = records;
        int size = model.config().vision().imageSize();
        this.trainTransform = new TrainTransform(size);
        this.evalTransform = new EvalTransform(size);
    }

    /** Optimizer steps in one pass over the records (at least 1). */
    public int stepsPerEpoch() {
        return stepsPerEpoch(records.size(), config);
    }

    public static int stepsPerEpoch(int records, TrainConfig config) {
        int microBatches = (records + config.batchSize() - 1) / config.batchSize();
        return Math.max(1, microBatches / config.accumGradIters());
    }

    /** The micro-th micro-batch of the given step of the given epoch. */
    public MicroBatch load(int epoch, int stepInEpoch, int micro) {
        List<Integer> order = epochOrder(epoch);
        int first = ((stepInEpoch * config.accumGradIters() + micro) * config.batchSize()) % Math.max(1, records.size());
        List<Integer> indices = new ArrayList<>();
        for (int k = 0; k < config.batchSize() && first + k < records.size(); k++) {
            indices.add(order.get(first + k));
        }
        return featureCache != null ? fromCache(indices) : fromPixels(indices, epoch);
    }

    /** The same shuffled order for the same (seed, epoch). */
    private List<Integer> epochOrder(int epoch) {
        if (epoch != orderEpoch) {
            List<Integer> o = new ArrayList<>();
            for (int i = 0; i < records.size(); i++) {
                o.add(i);
            }
            Collections.shuffle(o, new Random(config.seed() + 31L * epoch));
            order = o;
            orderEpoch = epoch;
        }
        return order;
    }

    private MicroBatch fromPixels(List<Integer> indices, int epoch) {
        List<TrainingSample> ok = new ArrayList<>();
        List<float[]> rows = new ArrayList<>();
        for (int index : indices) {
            TrainingSample r = records.get(index);
            try {
                RgbImage img = ImageDecoder.decode(r.image());
                Random random = new Random(config.seed() * 1_000_003L + (long) epoch * records.size() + index);
                rows.add(config.augment() ? trainTransform.apply(img, random) : evalTransform.apply(img));
                ok.add(r);
            } catch (RuntimeException e) {
                // an unreadable image costs its sample, never the run; the count is reported at the end
            }
        }
        int skipped = indices.size() - ok.size();
        if (ok.isEmpty()) {
            return new MicroBatch(ok, null, null, skipped);
        }
        int size = evalTransform.size();
        float[] flat = new float[rows.size() * 3 * size * size];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, flat, i * rows.get(i).length, rows.get(i).length);
        }
        Tensor blocks = TrainingLoss.frozenBlocks(model, Tensors.fromFloats(flat, rows.size(), 3, size, size));
        return new MicroBatch(ok, blocks, batcher.build(ok), skipped);
    }

    /** The ViT blocks' output per sample, from the cache or computed one image at a time (eval transform) and stored. */
    private MicroBatch fromCache(List<Integer> indices) {
        List<TrainingSample> ok = new ArrayList<>();
        List<Tensor> rows = new ArrayList<>();
        int size = evalTransform.size();
        for (int index : indices) {
            TrainingSample r = records.get(index);
            String key;
            try {
                key = FeatureCache.imageKey(r.image());
            } catch (UncheckedIOException e) {
                continue;   // as above: an unreadable image is skipped and counted
            }
            Tensor hit = featureCache.get(key, model.dtype(), model.device());
            if (hit == null) {
                float[] px;
                try {
                    px = evalTransform.apply(ImageDecoder.decode(r.image()));
                } catch (RuntimeException e) {
                    continue;
                }
                try (NoGradGuard noGrad = new NoGradGuard()) {
                    hit = model.vision().encodeBlocks(Tensors.fromFloats(px, 1, 3, size, size)).select(0, 0).detach();
                }
                featureCache.put(key, hit);   // a cache that cannot be written is an error, not a skipped sample
            }
            rows.add(hit.unsqueeze(0));
            ok.add(r);
        }
        int skipped = indices.size() - ok.size();
        if (ok.isEmpty()) {
            return new MicroBatch(ok, null, null, skipped);
        }
        return new MicroBatch(ok, Ops.cat(0, rows.toArray(new Tensor[0])), batcher.build(ok), skipped);
    }
}
