package org.emovit.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.emovit.attribution.Attribution;
import org.emovit.attribution.HeatmapRequest;
import org.emovit.attribution.PatchMap;
import org.emovit.core.Emotion;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;

/**
 * One task's classification: the partition's images in batches through {@link EmoVit#classify} (and
 * {@link EmoVit#explain} when asked), on this executor's one copy of the model; with a heatmap method, each
 * classified image's map for its predicted emotion ({@link Attribution}), computed here where the model is. Unreadable images become rows
 * with an error; a failure inside the model (out of memory, a broken checkpoint) fails the task instead, so Spark
 * retries it and, if it persists, the job stops rather than writing errors for images that are fine.
 */
final class ClassifyPartitions implements MapPartitionsFunction<Row, Row> {
    private final ModelSpec spec;
    private final EmoVit.Mode mode;
    private final GenerationConfig generation;
    private final GenerationConfig explanation;
    /** the precision as rows name it: f32 or bf16, however --dtype spelt it */
    private final String dtype;
    private final int batchSize;
    private final long maxPixels;
    /** how to compute each image's map, or null for none (and no heatmap columns) */
    private final PatchMap.Method heatmap;

    /**
     * @param explanation decoding for explanations, or null for none
     * @param heatmap     the attribution method for the heatmap columns, or null for none
     */
    ClassifyPartitions(ModelSpec spec, EmoVit.Mode mode, GenerationConfig generation, GenerationConfig explanation, int batchSize,
            long maxPixels, PatchMap.Method heatmap) {
        this.spec = spec;
        this.dtype = spec.dtypeName();
        this.mode = mode;
        this.generation = generation;
        this.explanation = explanation;
        this.batchSize = batchSize;
        this.maxPixels = maxPixels;
        this.heatmap = heatmap;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        EmoVit model = ModelCache.emovit(ExecutorDevice.resolve(spec));
        return new Batches<>(rows, batchSize, batch -> classify(model, batch));
    }

    private List<Row> classify(EmoVit model, List<Row> batch) {
        DecodedBatch d = new DecodedBatch(batch, maxPixels);
        EmoVit.Result[] results = new EmoVit.Result[batch.size()];
        String[] explanations = new String[batch.size()];
        PatchMap[] maps = new PatchMap[batch.size()];
        if (!d.images.isEmpty()) {
            synchronized (model) {
                List<EmoVit.Classified> r = model.classify(d.images, mode, generation, explanation);
                for (int k = 0; k < r.size(); k++) {
                    int row = d.imageRows.get(k);
                    results[row] = r.get(k).result();
                    explanations[row] = r.get(k).explanation();
                    if (heatmap != null) {   // null for a generated answer that is none of the 8: no emotion to map
                        maps[row] = new HeatmapRequest(heatmap, null).map(new Attribution(model), d.images.get(k), results[row]);
                    }
                }
            }
        }
        List<Row> out = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            out.add(row(batch.get(i), results[i], explanations[i], d.errors[i], maps[i]));
        }
        return out;
    }

    /** The output row, each value put by its column's name. */
    private Row row(Row in, EmoVit.Result r, String explanation, String error, PatchMap map) {
        StructType schema = ResultSchema.classify(heatmap != null);
        Object[] v = new Object[schema.size()];
        v[schema.fieldIndex("path")] = DecodedBatch.path(in);
        v[schema.fieldIndex("sha256")] = DecodedBatch.sha256(in);
        v[schema.fieldIndex("emotion")] = r == null ? null : r.label();
        for (Emotion e : Emotion.values()) {
            v[schema.fieldIndex(ResultSchema.probability(e))] = r == null ? null : r.probabilities().get(e.label());
        }
        v[schema.fieldIndex("generated")] = r == null ? null : r.generated();
        v[schema.fieldIndex("explanation")] = explanation;
        v[schema.fieldIndex("error")] = error;
        v[schema.fieldIndex("model")] = spec.displayName();
        v[schema.fieldIndex("dtype")] = dtype;
        if (map != null) {
            v[schema.fieldIndex("heatmap_method")] = map.method().label();
            v[schema.fieldIndex("heatmap_emotion")] = map.emotion().label();
            float[] w = map.weights();
            Float[] boxed = new Float[w.length];   // an array column's external type: a Java array of objects
            for (int j = 0; j < w.length; j++) {
                boxed[j] = w[j];
            }
            v[schema.fieldIndex("heatmap")] = boxed;
        }
        return RowFactory.create(v);
    }
}
