package org.emovit.spark;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;

/**
 * A batch of input rows (columns {@code path, content, sha256, error}, read by name) decoded: the images that could be read, in order,
 * and for every row either its image or the one-line reason it has none. A bad image is an answer, not a failure.
 */
final class DecodedBatch {
    final List<Row> rows;
    final String[] errors;
    final List<RgbImage> images = new ArrayList<>();
    /** index into {@link #rows} of each image in {@link #images} */
    final List<Integer> imageRows = new ArrayList<>();

    DecodedBatch(List<Row> rows, long maxPixels) {
        this.rows = rows;
        this.errors = new String[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            String error = r.getAs("error");
            if (error != null) {
                errors[i] = error;
                continue;
            }
            try {
                images.add(ImageDecoder.decode(r.<byte[]>getAs("content"), path(r), maxPixels));
                imageRows.add(i);
            } catch (RuntimeException e) {
                errors[i] = org.emovit.core.Errors.firstLine(e);
            }
        }
    }

    static String path(Row r) {
        return r.getAs("path");
    }

    static String sha256(Row r) {
        return r.getAs("sha256");
    }
}
