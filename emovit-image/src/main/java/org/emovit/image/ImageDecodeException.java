package org.emovit.image;

/**
 * An image could not be decoded. The message names the file and the reason; {@link #reason()} gives the reason
 * as a value.
 */
public class ImageDecodeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Why decoding failed. */
    public enum Reason {
        /** The file does not exist (or is not a regular file). */
        MISSING_FILE,
        /** The content is not a recognised image (empty, text, unknown signature). */
        NOT_AN_IMAGE,
        /** A recognised image format or variant that cannot be decoded here (e.g. 12-bit JPEG). */
        UNSUPPORTED_FORMAT,
        /** The data ends before the image does. */
        TRUNCATED,
        /** The data is damaged. */
        CORRUPT,
        /** The header announces more pixels than the limit (a decompression bomb guard, as in PIL). */
        TOO_LARGE,
        /** Reading the file failed. */
        IO_ERROR,
        /** The decoded pixels do not fit in the Java heap (a large image under a small -Xmx). */
        OUT_OF_MEMORY
    }

    private final String name;
    private final Reason reason;

    public ImageDecodeException(String name, Reason reason, String detail) {
        this(name, reason, detail, null);
    }

    public ImageDecodeException(String name, Reason reason, String detail, Throwable cause) {
        super(name + ": " + describe(reason) + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"), cause);
        this.name = name;
        this.reason = reason;
    }

    /** The file name (or the caller's name for the bytes) the error is about. */
    public String name() {
        return name;
    }

    public Reason reason() {
        return reason;
    }

    private static String describe(Reason reason) {
        return switch (reason) {
            case MISSING_FILE -> "missing file";
            case NOT_AN_IMAGE -> "not an image";
            case UNSUPPORTED_FORMAT -> "unsupported image format";
            case TRUNCATED -> "truncated image file";
            case CORRUPT -> "corrupt image data";
            case TOO_LARGE -> "image too large";
            case IO_ERROR -> "cannot read image";
            case OUT_OF_MEMORY -> "out of Java heap memory decoding it (give the JVM more with EMOVIT_JAVA_OPTS=-Xmx...)";
        };
    }
}
