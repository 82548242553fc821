package org.emovit.data;

import java.util.List;

/** How stage summaries mention their issues: a count; the issues themselves are in the report. */
final class Issues {
    private Issues() {
    }

    /** {@code "; N issue(s)"}, or nothing when there are none. */
    static String count(List<DataIssue> issues) {
        return issues.isEmpty() ? "" : "; " + issues.size() + " issue(s)";
    }
}
