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
