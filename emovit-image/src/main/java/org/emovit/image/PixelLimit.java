package org.emovit.image;

/**
 * The size check made from a header before any pixel is decoded, so that a decompression bomb (a few KB that
 * claim gigapixels) is refused instead of exhausting the heap.
 */
final class PixelLimit {

    private PixelLimit() {
    }

    static void checkSize(String name, long width, long height, long maxPixels) {
        if (width <= 0 || height <= 0) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.CORRUPT,
                    "invalid size " + width + " x " + height);
        }
        long pixels = width * height;
        if (pixels > maxPixels) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.TOO_LARGE,
                    width + " x " + height + " = " + pixels + " pixels > limit " + maxPixels);
        }
        if (pixels * 3 > Integer.MAX_VALUE - 16) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.TOO_LARGE,
                    width + " x " + height + " = " + pixels + " pixels do not fit one Java array");
        }
    }
}
