package org.emovit.spark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.emovit.generate.Blip2Captioner;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;
import org.emovit.image.RgbImage;

/**
 * One task's captions, as the data pipeline's caption stage makes them: InstructBLIP answering the caption
 * instruction through {@link EmoVit#generate} (a batch at a time), or the seed's BLIP-2 OPT captioner (an image at
 * a time, as it captions). Unreadable images become rows with an error; a model failure fails the task.
 */
final class CaptionPartitions implements MapPartitionsFunction<Row, Row> {
    private final ModelSpec spec;
    private final String blip2;
    private final String prompt;
    private final GenerationConfig decoding;
    /** the precision as rows name it: f32 or bf16, however --dtype spelt it */
    private final String dtype;
    private final int batchSize;
    private final long maxPixels;

    /** @param blip2 BLIP-2 OPT directory, or null to caption with the InstructBLIP model of {@code spec} */
    CaptionPartitions(ModelSpec spec, String blip2, String prompt, GenerationConfig decoding, int batchSize, long maxPixels) {
        this.spec = spec;
        this.dtype = spec.dtypeName();
        this.blip2 = blip2;
        this.prompt = prompt;
        this.decoding = decoding;
        this.batchSize = batchSize;
        this.maxPixels = maxPixels;
    }

    /** The name written in the model column. */
    String modelName() {
        return blip2 != null ? Path.of(blip2).getFileName().toString() : spec.displayName();
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        if (blip2 != null) {
            Blip2Captioner captioner = ModelCache.blip2(new ModelCache.Blip2Key(blip2, ExecutorDevice.resolve(spec), decoding));
            return new Batches<>(rows, batchSize, batch -> caption(batch, images -> {
                List<String> out = new ArrayList<>();
                synchronized (captioner) {
                    images.forEach(img -> out.add(captioner.caption(img)));
                }
                return out;
            }));
        }
        EmoVit model = ModelCache.emovit(ExecutorDevice.resolve(spec));
        return new Batches<>(rows, batchSize, batch -> caption(batch, images -> {
            List<String> out = new ArrayList<>();
            synchronized (model) {
                for (EmoVit.Answer a : model.generate(images, Collections.nCopies(images.size(), prompt), decoding, null)) {
                    out.add(a.text());
                }
            }
            return out;
        }));
    }

    private List<Row> caption(List<Row> batch, Function<List<RgbImage>, List<String>> captioner) {
        DecodedBatch d = new DecodedBatch(batch, maxPixels);
        String[] captions = new String[batch.size()];
        if (!d.images.isEmpty()) {
            List<String> c = captioner.apply(d.images);
            for (int k = 0; k < c.size(); k++) {
                captions[d.imageRows.get(k)] = c.get(k);
            }
        }
        List<Row> out = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            Row in = batch.get(i);
            out.add(RowFactory.create(DecodedBatch.path(in), DecodedBatch.sha256(in), captions[i], d.errors[i], modelName(), dtype));
        }
        return out;
    }
}
