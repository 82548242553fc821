package org.emovit.image;

import java.io.EOFException;
import java.util.Locale;

/**
 * Names what went wrong when ImageIO fails: readers report a cut-off file, a damaged one and a full heap with
 * assorted exceptions and messages, and callers need to tell these apart ({@link ImageDecodeException.Reason}).
 */
final class DecodeFailures {

    private DecodeFailures() {
    }

    static ImageDecodeException failure(String name, String what, Throwable e) {
        ImageDecodeException.Reason reason = isTruncation(e)
                ? ImageDecodeException.Reason.TRUNCATED : ImageDecodeException.Reason.CORRUPT;
        String msg = e.getMessage();
        Throwable c = e.getCause();
        if (c != null && c.getMessage() != null && (msg == null || !msg.contains(c.getMessage()))) {
            msg = (msg == null ? "" : msg + ": ") + c.getMessage();
        }
        return new ImageDecodeException(name, reason, what + ": " + (msg == null ? e.getClass().getSimpleName() : msg), e);
    }

    static boolean causedByOutOfMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError || (t.getMessage() != null && t.getMessage().contains("Java heap space"))) {
                return true;
            }
        }
        return false;
    }

    private static boolean isTruncation(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EOFException) {
                return true;
            }
            if (t.getMessage() != null && isTruncationMessage(t.getMessage())) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /**
     * Reader warnings that mean the data ran out: the JDK's libjpeg source manager inserts a fake EOI at the end
     * of the stream and warns. Other libjpeg warnings ("Corrupt JPEG data: ...") are ignored, as PIL ignores
     * them.
     */
    static boolean isEndOfDataWarning(String message) {
        String m = message.toLowerCase(Locale.ROOT);
        return m.contains("missing eoi") || m.contains("premature end of jpeg file") || m.contains("truncated");
    }

    private static boolean isTruncationMessage(String message) {
        String m = message.toLowerCase(Locale.ROOT);
        return m.contains("premature end") || m.contains("truncated") || m.contains("unexpected end")
                || m.contains("end of file") || m.contains("end of stream") || m.matches("(?s).*\\beof\\b.*");
    }
}
