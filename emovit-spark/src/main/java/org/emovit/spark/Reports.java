package org.emovit.spark;

import java.io.PrintWriter;
import java.util.Locale;

/** The closing line of a classify or caption job, and its exit code (2 when some images failed, as emovit classify). */
final class Reports {
    private Reports() {}

    static int print(PrintWriter out, String verb, String output, ResultWriter.Report r) {
        if (r.written() == 0) {
            out.printf(Locale.ROOT, "nothing to do: every image is already in %s (%d rows)%n", output, r.total());
        } else {
            out.printf(Locale.ROOT, "%s %d image(s), %d with an error; %s now holds %d rows%n", verb, r.written(), r.errors(),
                    output, r.total());
        }
        out.flush();
        return r.errors() > 0 ? 2 : 0;
    }
}
