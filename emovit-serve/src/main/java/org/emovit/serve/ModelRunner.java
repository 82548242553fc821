package org.emovit.serve;

import java.util.ArrayList;
import java.util.List;
import org.emovit.generate.DecodingBatch;
import org.emovit.api.EmoVit;
import org.emovit.attribution.Attribution;
import org.emovit.attribution.MapPass;
import org.emovit.generate.GenerationConfig;

/**
 * The only code that calls the model, on the model's thread: classification passes, generations joining the one
 * running batch, its decoding steps and rows leaving. The batch lives as long as the server; its KV cache follows the
 * rows running and holds nothing when none does.
 */
final class ModelRunner implements AutoCloseable {
    private final EmoVit emoVit;
    private final DecodingBatch batch;
    private final Attribution attribution;
    // Read by /metrics on other threads: copied here by the model's thread after each change, never read off the cache.
    private volatile long cacheLength;
    private volatile long cacheBytes;

    ModelRunner(EmoVit emoVit) {
        this.emoVit = emoVit;
        // every row joins with its own request's settings; this default is never used
        this.batch = emoVit.decodingBatch(GenerationConfig.emovit().withNumBeams(1));
        this.attribution = new Attribution(emoVit);
    }

    List<EmoVit.Result> classify(List<Job.Classify> jobs) {
        return emoVit.classify(jobs.stream().map(Job.Classify::image).toList(), jobs.get(0).mode(), GenerationConfig.emovit());
    }

    /**
     * The heat map a classified job asked for, as a pass the scheduler runs piece by piece: of the emotion it named,
     * else of the predicted one; null when it named none and the answer is none of the 8 (generate mode), so there is
     * nothing to map. Nothing runs until its first piece.
     */
    MapPass heatmap(Job.Classify job, EmoVit.Result result) {
        return job.heatmap().pass(attribution, job.image(), result);
    }

    /** The next piece of a map's pass; true once its map is ready. */
    boolean advance(MapPass pass) {
        return pass.advance();
    }

    /**
     * Adds the generations to the running batch after its rows (one prefill for each run of equal settings).
     *
     * @return each one's prompt length in tokens, in order
     */
    int[] join(List<Job.Generate> jobs) {
        List<Integer> lengths = new ArrayList<>();
        for (int from = 0; from < jobs.size(); ) {
            GenerationConfig key = jobs.get(from).batchKey();
            int to = from;
            while (to < jobs.size() && jobs.get(to).batchKey().equals(key)) {
                to++;
            }
            List<Job.Generate> group = jobs.subList(from, to);
            for (int n : emoVit.join(batch, group.stream().map(Job.Generate::image).toList(),
                    group.stream().map(Job.Generate::prompt).toList(), key)) {
                lengths.add(n);
            }
            from = to;
        }
        cacheChanged();
        return lengths.stream().mapToInt(Integer::intValue).toArray();
    }

    /** One token for every running row, in joining order. */
    long[] step() {
        long[] tokens = batch.step();
        cacheChanged();
        return tokens;
    }

    /** A row's tokens so far (EOS included when it produced one). */
    long[] tokens(int row) {
        return batch.tokens(row);
    }

    /** These rows (numbered as now) leave; the others keep their order. */
    void leave(int[] rows) {
        batch.leave(rows);
        cacheChanged();
    }

    /** Drops every row (after a failure inside the model). */
    void clear() {
        batch.leave(java.util.stream.IntStream.range(0, batch.size()).toArray());
        cacheChanged();
    }

    private void cacheChanged() {
        cacheLength = batch.cacheLength();
        cacheBytes = batch.cacheBytes();
    }

    int rows() {
        return batch.size();
    }

    /** Positions of the running batch's longest row (as of the last change). */
    long cacheLength() {
        return cacheLength;
    }

    /** Bytes of the running batch's KV cache (as of the last change). */
    long cacheBytes() {
        return cacheBytes;
    }

    @Override
    public void close() {
        batch.close();
    }
}
