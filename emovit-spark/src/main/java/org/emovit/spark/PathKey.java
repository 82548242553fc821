package org.emovit.spark;

import java.net.URI;
import java.nio.file.Path;
import org.apache.spark.sql.api.java.UDF1;

/**
 * One spelling per file, to join images named in different ways: Spark's binaryFile source writes URIs
 * ({@code file:/data/a%20b.jpg}), a labels file plain paths ({@code /data/a b.jpg}). Both become the decoded,
 * absolute path without scheme and host.
 */
final class PathKey implements UDF1<String, String> {

    @Override
    public String call(String s) {
        return of(s);
    }

    static String of(String s) {
        if (s == null) {
            return null;
        }
        if (s.matches("^[A-Za-z][A-Za-z0-9+.-]+:.*")) {
            String p;
            try {
                p = URI.create(s).getPath();   // a proper URI: %-escapes decoded
            } catch (IllegalArgumentException e) {
                p = new org.apache.hadoop.fs.Path(s).toUri().getPath();   // Spark's binaryFile writes raw spaces
            }
            if (p != null) {
                return p;
            }
        }
        return Path.of(s).toAbsolutePath().normalize().toString();
    }
}
