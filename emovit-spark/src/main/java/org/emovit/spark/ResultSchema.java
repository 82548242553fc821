package org.emovit.spark;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.emovit.core.Emotion;

/** The columns of the Parquet outputs. Every row names its image by path and by the SHA-256 of its bytes. */
final class ResultSchema {

    /** The probability column of an emotion. */
    static String probability(Emotion e) {
        return "p_" + e.label();
    }

    /**
     * classify: the predicted label (one of the 8; in generate mode whatever the model answered), a probability
     * per emotion (score mode), the generated answer (generate mode), the explanation (--explain), the error.
     */
    static final StructType CLASSIFY;

    static {
        StructType s = new StructType()
                .add("path", DataTypes.StringType, true)
                .add("sha256", DataTypes.StringType, true)
                .add("emotion", DataTypes.StringType, true);
        for (Emotion e : Emotion.values()) {
            s = s.add(probability(e), DataTypes.DoubleType, true);
        }
        CLASSIFY = s.add("generated", DataTypes.StringType, true)
                .add("explanation", DataTypes.StringType, true)
                .add("error", DataTypes.StringType, true)
                .add("model", DataTypes.StringType, true)
                .add("dtype", DataTypes.StringType, true);
    }

    /**
     * classify --heatmap: {@link #CLASSIFY} and, for each classified image, where in it the predicted emotion comes
     * from: the method (grad-cam or rollout), the emotion the map explains, and the map over the ViT's patch grid
     * (row-major from the top-left patch, side x side, 16 x 16 at 224 px; non-negative, summing to 1). Null for an
     * image with an error, or whose generated answer is none of the 8.
     */
    static final StructType CLASSIFY_HEATMAP = CLASSIFY
            .add("heatmap_method", DataTypes.StringType, true)
            .add("heatmap_emotion", DataTypes.StringType, true)
            .add("heatmap", DataTypes.createArrayType(DataTypes.FloatType, false), true);

    /** The classify output with or without the heatmap columns. */
    static StructType classify(boolean heatmap) {
        return heatmap ? CLASSIFY_HEATMAP : CLASSIFY;
    }

    /** caption: the caption, or the error. */
    static final StructType CAPTION = new StructType()
            .add("path", DataTypes.StringType, true)
            .add("sha256", DataTypes.StringType, true)
            .add("caption", DataTypes.StringType, true)
            .add("error", DataTypes.StringType, true)
            .add("model", DataTypes.StringType, true)
            .add("dtype", DataTypes.StringType, true);

    private ResultSchema() {}
}
