package org.emovit.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;

/**
 * Decoded samples to 8-bit RGB the way PIL's {@code convert("RGB")} does it: palette lookups (with PIL's grey
 * ramp past the palette), sample depths other than 8 bits, and PIL's {@code cmyk2rgb}. No colour management:
 * PIL applies none, and the model was trained on PIL's pixels.
 */
final class ColourConversion {

    private ColourConversion() {
    }

    /** The palette colour of {@code index}, PIL style: past the palette, PIL's default ramp (i, i, i). */
    static int[] paletteColour(ColorModel cm, int index, int paletteEntries) {
        if (cm instanceof IndexColorModel icm) {
            int size = paletteEntries >= 0 ? Math.min(paletteEntries, icm.getMapSize()) : icm.getMapSize();
            if (index >= 0 && index < size) {
                return new int[] {icm.getRed(index), icm.getGreen(index), icm.getBlue(index)};
            }
            int v = index & 0xFF;
            return new int[] {v, v, v};
        }
        return new int[] {0, 0, 0};
    }

    /**
     * The colour samples of a decoded image, without colour management: palette colours for indexed images,
     * band values (high byte of 16-bit samples, {@code v * 255 / (2^bits - 1)} for samples under 8 bits) for grey and RGB, PIL's
     * cmyk2rgb for CMYK; alpha ignored.
     */
    static RgbImage toRgb(BufferedImage img, boolean clip16Grey, int paletteEntries) {
        int w = img.getWidth();
        int h = img.getHeight();
        Raster r = img.getRaster();
        ColorModel cm = img.getColorModel();
        byte[] out = new byte[w * h * 3];
        int minX = r.getMinX();
        int minY = r.getMinY();
        int[] row = new int[w];

        if (cm instanceof IndexColorModel icm) {
            int[] lut = new int[256 * 3];
            int size = paletteEntries >= 0 ? Math.min(paletteEntries, icm.getMapSize()) : icm.getMapSize();
            for (int i = 0; i < 256; i++) {
                if (i < size) {
                    lut[i * 3] = icm.getRed(i);
                    lut[i * 3 + 1] = icm.getGreen(i);
                    lut[i * 3 + 2] = icm.getBlue(i);
                } else {
                    lut[i * 3] = lut[i * 3 + 1] = lut[i * 3 + 2] = i;
                }
            }
            for (int y = 0; y < h; y++) {
                r.getSamples(minX, minY + y, w, 1, 0, row);
                for (int x = 0, o = y * w * 3; x < w; x++, o += 3) {
                    int idx = row[x] & 0xFF;
                    out[o] = (byte) lut[idx * 3];
                    out[o + 1] = (byte) lut[idx * 3 + 1];
                    out[o + 2] = (byte) lut[idx * 3 + 2];
                }
            }
            return new RgbImage(w, h, out);
        }

        int dataType = r.getDataBuffer().getDataType();
        boolean integral = dataType == DataBuffer.TYPE_BYTE || dataType == DataBuffer.TYPE_USHORT
                || dataType == DataBuffer.TYPE_SHORT || dataType == DataBuffer.TYPE_INT;
        int csType = cm.getColorSpace().getType();
        int colours = cm.getNumColorComponents();
        int[] bandsFor;
        boolean cmyk = false;
        if (csType == java.awt.color.ColorSpace.TYPE_GRAY && colours == 1) {
            bandsFor = new int[] {0, 0, 0};
        } else if (csType == java.awt.color.ColorSpace.TYPE_RGB && colours == 3) {
            bandsFor = new int[] {0, 1, 2};
        } else if (csType == java.awt.color.ColorSpace.TYPE_CMYK && colours == 4) {
            bandsFor = new int[] {0, 1, 2, 3};
            cmyk = true;
        } else {
            bandsFor = null;
        }
        if (!integral || bandsFor == null || r.getNumBands() < colours) {
            // anything else (float samples, YCbCr or Lab TIFF...): let Java convert to sRGB
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0, o = y * w * 3; x < w; x++, o += 3) {
                    int argb = row[x];
                    out[o] = (byte) (argb >> 16);
                    out[o + 1] = (byte) (argb >> 8);
                    out[o + 2] = (byte) argb;
                }
            }
            return new RgbImage(w, h, out);
        }

        int channels = bandsFor.length;
        int[][] luts = new int[channels][];
        int[] shifts = new int[channels];
        int[][] rows = new int[channels][w];
        for (int c = 0; c < channels; c++) {
            int bits = r.getSampleModel().getSampleSize(bandsFor[c]);
            if (bits > 16) {
                shifts[c] = bits - 8;
            } else if (bits != 8) {
                int[] lut = new int[1 << bits];
                for (int v = 0; v < lut.length; v++) {
                    lut[v] = to8(v, bits, clip16Grey);
                }
                luts[c] = lut;
            }
        }
        for (int y = 0; y < h; y++) {
            for (int c = 0; c < channels; c++) {
                if (c > 0 && bandsFor[c] == bandsFor[c - 1]) {
                    rows[c] = rows[c - 1];
                    continue;
                }
                int[] rr = rows[c];
                r.getSamples(minX, minY + y, w, 1, bandsFor[c], rr);
                if (luts[c] != null) {
                    int[] lut = luts[c];
                    int mask = lut.length - 1;
                    for (int x = 0; x < w; x++) {
                        rr[x] = lut[rr[x] & mask];
                    }
                } else if (shifts[c] > 0) {
                    int shift = shifts[c];
                    for (int x = 0; x < w; x++) {
                        rr[x] = (rr[x] >>> shift) & 0xFF;
                    }
                }
            }
            int o = y * w * 3;
            if (cmyk) {
                for (int x = 0; x < w; x++, o += 3) {
                    int k = rows[3][x];
                    out[o] = (byte) cmykToRgb(rows[0][x], k);
                    out[o + 1] = (byte) cmykToRgb(rows[1][x], k);
                    out[o + 2] = (byte) cmykToRgb(rows[2][x], k);
                }
            } else {
                for (int x = 0; x < w; x++, o += 3) {
                    out[o] = (byte) rows[0][x];
                    out[o + 1] = (byte) rows[1][x];
                    out[o + 2] = (byte) rows[2][x];
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /** A sample of {@code bits} bits as 8 bits, the way PIL unpacks it. */
    static int to8(int v, int bits, boolean clip) {
        if (bits == 8) {
            return v;
        }
        if (bits > 8) {
            return clip ? Math.min(v, 255) : v >>> (bits - 8);
        }
        // PIL's unpackers: v * 255 / (2^bits - 1), truncated ("1" -> 0/255, "L;2" -> v * 0x55, "L;4" -> v * 0x11,
        // "BGR;15"/"BGR;16" -> v * 255 / 31 and v * 255 / 63)
        return v * 255 / ((1 << bits) - 1);
    }

    /** PIL's {@code cmyk2rgb} for one channel: {@code CLIP8(nk - MULDIV255(v, nk))}, {@code nk = 255 - k}. */
    static int cmykToRgb(int v, int k) {
        int nk = 255 - k;
        int tmp = v * nk + 128;
        int mul = ((tmp >> 8) + tmp) >> 8;
        int r = nk - mul;
        return r < 0 ? 0 : (r > 255 ? 255 : r);
    }
}
