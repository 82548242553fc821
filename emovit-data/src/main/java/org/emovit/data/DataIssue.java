package org.emovit.data;

import java.nio.file.Path;

/**
 * Something that was skipped, with why: {@code item} names it (an image name, a split entry), {@code path} is the
 * file concerned (may be null), {@code reason} is a sentence.
 */
public record DataIssue(String item, String path, String reason) {

    /** An issue from a failure to read {@code file}; the reason does not repeat the path the message starts with. */
    public static DataIssue of(String item, Path file, String what, Exception e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        String prefix = file + ": ";
        if (m.startsWith(prefix)) {
            m = m.substring(prefix.length());
        }
        return new DataIssue(item, file.toString(), what == null ? m : what + ": " + m);
    }

    @Override
    public String toString() {
        return (item == null ? "" : item + ": ") + (path == null ? "" : path + ": ") + reason;
    }
}
