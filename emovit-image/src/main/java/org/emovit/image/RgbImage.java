package org.emovit.image;

/**
 * An 8-bit RGB image, row-major, 3 bytes per pixel (HWC, the layout of {@code numpy.asarray(pil_image)}).
 *
 * <p>The array is shared, not copied: callers that hand an image on should not modify it afterwards.
 * {@code equals} compares pixels.
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb == null || (long) rgb.length != (long) width * height * 3L) {
            throw new IllegalArgumentException("expected " + ((long) width * height * 3L) + " bytes for a "
                    + width + "x" + height + " RGB image, got " + (rgb == null ? "null" : rgb.length));
        }
    }

    /** Red, green or blue ({@code c} = 0, 1, 2) of pixel (x, y), 0..255. */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    /** Same size and same pixels. */
    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage other && width == other.width && height == other.height
                && java.util.Arrays.equals(rgb, other.rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + java.util.Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
