package org.emovit.image;

import java.awt.image.Raster;
import java.io.IOException;
import javax.imageio.IIOException;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * JPEG as libjpeg (and so PIL) decodes it: the JDK's reader gives the raw samples (libjpeg's islow IDCT and
 * fancy upsampling), and the colour conversion is done here with libjpeg's own integer tables, because the
 * JDK's colour conversion differs from libjpeg's in the last bit and handles CMYK/YCCK differently.
 */
final class JpegReader {

    private JpegReader() {
    }

    /**
     * Reads the frame header and refuses what PIL refuses (12-bit, lossless, arithmetic-coded, odd component
     * counts) and what is over the pixel limit, before the JDK's reader sees the data. Leaves {@code in} at 0.
     */
    static JpegHeader checkHeader(ImageInputStream in, String name, long maxPixels) throws IOException {
        JpegHeader jpeg;
        try {
            jpeg = JpegHeader.read(in);
        } catch (IOException e) {
            throw DecodeFailures.failure(name, "JPEG header", e);
        } finally {
            in.seek(0);
        }
        if (jpeg.sofMarker < 0) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.CORRUPT, "JPEG without a frame header");
        }
        if (jpeg.sofMarker != 0xC0 && jpeg.sofMarker != 0xC1 && jpeg.sofMarker != 0xC2) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT, String.format(
                    "JPEG process SOF%d (lossless, hierarchical or arithmetic-coded)", jpeg.sofMarker - 0xC0));
        }
        if (jpeg.precision != 8) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT,
                    jpeg.precision + "-bit JPEG");
        }
        if (jpeg.colorSpace() == null) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT,
                    "JPEG with " + jpeg.componentIds.length + " components");
        }
        PixelLimit.checkSize(name, jpeg.width, jpeg.height, maxPixels);
        return jpeg;
    }

    static RgbImage read(ImageReader reader, JpegHeader h) throws IOException {
        Raster r = reader.readRaster(0, null);
        int w = r.getWidth();
        int ht = r.getHeight();
        int bands = r.getNumBands();
        JpegHeader.ColorSpace cs = h.colorSpace();
        int expectedBands = h.componentIds.length;
        if (bands != expectedBands) {
            throw new IIOException("decoder returned " + bands + " bands for a " + expectedBands + "-component JPEG");
        }
        byte[] out = new byte[w * ht * 3];
        int[] row = new int[w * bands];
        for (int y = 0; y < ht; y++) {
            r.getPixels(r.getMinX(), r.getMinY() + y, w, 1, row);
            int o = y * w * 3;
            switch (cs) {
                case GRAYSCALE -> {
                    for (int x = 0; x < w; x++, o += 3) {
                        byte v = (byte) row[x];
                        out[o] = v;
                        out[o + 1] = v;
                        out[o + 2] = v;
                    }
                }
                case RGB -> {
                    for (int i = 0; i < w * 3; i++) {
                        out[o + i] = (byte) row[i];
                    }
                }
                case YCBCR -> {
                    for (int x = 0, p = 0; x < w; x++, p += 3, o += 3) {
                        int yy = row[p];
                        int cb = row[p + 1];
                        int cr = row[p + 2];
                        out[o] = (byte) Libjpeg.clamp(yy + Libjpeg.CR_R[cr]);
                        out[o + 1] = (byte) Libjpeg.clamp(yy + ((Libjpeg.CB_G[cb] + Libjpeg.CR_G[cr]) >> Libjpeg.SCALEBITS));
                        out[o + 2] = (byte) Libjpeg.clamp(yy + Libjpeg.CB_B[cb]);
                    }
                }
                case CMYK, YCCK -> {
                    for (int x = 0, p = 0; x < w; x++, p += 4, o += 3) {
                        int c;
                        int m;
                        int yel;
                        int k = row[p + 3];
                        if (cs == JpegHeader.ColorSpace.YCCK) {
                            int yy = row[p];
                            int cb = row[p + 1];
                            int cr = row[p + 2];
                            c = Libjpeg.clamp(255 - (yy + Libjpeg.CR_R[cr]));
                            m = Libjpeg.clamp(255 - (yy + ((Libjpeg.CB_G[cb] + Libjpeg.CR_G[cr]) >> Libjpeg.SCALEBITS)));
                            yel = Libjpeg.clamp(255 - (yy + Libjpeg.CB_B[cb]));
                        } else {
                            c = row[p];
                            m = row[p + 1];
                            yel = row[p + 2];
                        }
                        // PIL reads JPEG CMYK as "CMYK;I" (Adobe polarity): every channel inverted
                        c = 255 - c;
                        m = 255 - m;
                        yel = 255 - yel;
                        k = 255 - k;
                        out[o] = (byte) ColourConversion.cmykToRgb(c, k);
                        out[o + 1] = (byte) ColourConversion.cmykToRgb(m, k);
                        out[o + 2] = (byte) ColourConversion.cmykToRgb(yel, k);
                    }
                }
                default -> throw new IIOException("unexpected JPEG colour space " + cs);
            }
        }
        return new RgbImage(w, ht, out);
    }

    /** libjpeg's YCbCr tables ({@code build_ycc_rgb_table} in jdcolor.c). */
    static final class Libjpeg {
        static final int SCALEBITS = 16;
        static final int[] CR_R = new int[256];
        static final int[] CB_B = new int[256];
        static final int[] CR_G = new int[256];
        static final int[] CB_G = new int[256];

        static {
            final long oneHalf = 1L << (SCALEBITS - 1);
            for (int i = 0, x = -128; i < 256; i++, x++) {
                CR_R[i] = (int) ((fix(1.40200) * x + oneHalf) >> SCALEBITS);
                CB_B[i] = (int) ((fix(1.77200) * x + oneHalf) >> SCALEBITS);
                CR_G[i] = (int) (-fix(0.71414) * x);
                CB_G[i] = (int) (-fix(0.34414) * x + oneHalf);
            }
        }

        private static long fix(double v) {
            return (long) (v * (1L << SCALEBITS) + 0.5);
        }

        static int clamp(int v) {
            return v < 0 ? 0 : (v > 255 ? 255 : v);
        }
    }
}
