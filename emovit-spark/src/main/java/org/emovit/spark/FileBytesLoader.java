package org.emovit.spark;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Reads the file each row's path names, through Hadoop's file systems (local, HDFS, S3A, ...), on the executor.
 * A file that cannot be read becomes a row with an error, not a failed task: one bad path must not stop a job.
 */
final class FileBytesLoader implements MapPartitionsFunction<Row, Row> {
    private final HashMap<String, String> hadoopConf;

    FileBytesLoader(Map<String, String> hadoopConf) {
        this.hadoopConf = new HashMap<>(hadoopConf);
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        Configuration conf = new Configuration(false);
        hadoopConf.forEach(conf::set);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                String path = rows.next().getAs("path");
                if (path == null || path.isBlank()) {
                    return RowFactory.create(path, null, "no path in the path column");
                }
                try {
                    Path p = new Path(path);
                    FileSystem fs = p.getFileSystem(conf);
                    try (InputStream in = fs.open(p)) {
                        return RowFactory.create(path, in.readAllBytes(), null);
                    }
                } catch (IOException | IllegalArgumentException e) {
                    return RowFactory.create(path, null, path + ": cannot read: " + e.getMessage());
                }
            }
        };
    }
}
