package org.emovit.attribution;

import org.emovit.api.EmoVit;
import org.emovit.core.Emotion;
import org.emovit.image.RgbImage;

/**
 * A heat map asked for with a classification: this method, of this emotion, or of the predicted one when none is
 * named. Every front door (classify --heatmap, the server, Spark) decides which emotion to map here.
 *
 * @param method  how to compute the map
 * @param emotion the emotion to map in every image, or null for each image's predicted one
 */
public record HeatmapRequest(PatchMap.Method method, Emotion emotion) {

    public HeatmapRequest {
        if (method == null) {
            throw new IllegalArgumentException("a heat map needs a method");
        }
    }

    /** The emotion to map for this result: the one asked for, else the predicted one (null: none of the 8). */
    public Emotion emotionFor(EmoVit.Result result) {
        return emotion != null ? emotion : result.emotion();
    }

    /**
     * The map for this classified image, or null when there is no emotion to map (none asked for and a generated
     * answer outside the 8).
     */
    public PatchMap map(Attribution attribution, RgbImage image, EmoVit.Result result) {
        MapPass pass = pass(attribution, image, result);
        return pass == null ? null : MapPass.run(pass);
    }

    /** The same map as a pass to run piece by piece (see {@link MapPass}), or null when there is no emotion to map. */
    public MapPass pass(Attribution attribution, RgbImage image, EmoVit.Result result) {
        Emotion e = emotionFor(result);
        return e == null ? null : attribution.pass(image, e, method);
    }
}
