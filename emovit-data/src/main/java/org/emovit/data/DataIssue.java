package org.emovit.data;

/**
 * Something that was skipped, with why: {@code item} names it (an image name, a split entry), {@code path} is the
 * file concerned (may be null), {@code reason} is a sentence.
 */
public record DataIssue(String item, String path, String reason) {
    @Override
    public String toString() {
        return (item == null ? "" : item + ": ") + (path == null ? "" : path + ": ") + reason;
    }
}
