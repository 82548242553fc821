package org.emovit.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes one caption for an image. The project's captioning models (BLIP-2 OPT as the seed uses, or InstructBLIP
 * with a caption prompt) implement it; {@link CaptionStage} runs any implementation over a data set.
 *
 * <p>Implementations need not be thread-safe: the caption stage calls them from one thread.
 */
@FunctionalInterface
public interface Captioner {

    /** The caption of one image (as the model produced it; the seed writes LAVIS's stripped output). */
    String caption(Path image) throws Exception;

    /**
     * Captions of several images, in order; the default calls {@link #caption(Path)} for each. A model that
     * batches overrides this. When it throws, the caption stage falls back to one image at a time, so a bad
     * image costs only its own caption.
     */
    default List<String> captionBatch(List<Path> images) throws Exception {
        List<String> out = new ArrayList<>(images.size());
        for (Path p : images) {
            out.add(caption(p));
        }
        return out;
    }

    /** A name for the run files ({@code captions.jsonl} records it). */
    default String describe() {
        return getClass().getSimpleName();
    }
}
