package org.emovit.image;

/**
 * PIL's {@code Image.resize(size, Image.BICUBIC)} for 8-bit RGB images, bit for bit.
 *
 * <p>A port of Pillow's {@code libImaging/Resample.c} ({@code ImagingResample} with the whole image as the box):
 * separable convolution with the bicubic kernel (a = -0.5), whose support is widened by the shrink factor when
 * shrinking (that is PIL's antialiasing); coefficients computed in double, normalised to sum 1, then turned into
 * 22-bit fixed point ({@code PRECISION_BITS = 32 - 8 - 2}) with PIL's rounding; accumulation in 32-bit ints
 * starting from one half, clipped to 0..255. The horizontal pass runs first (only over the source rows the
 * vertical pass needs) and produces 8-bit pixels, then the vertical pass. A pass whose size does not change is
 * skipped, and a resize to the same size is a copy, as in PIL.
 */
public final class PilResize {

    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double BICUBIC_SUPPORT = 2.0;

    private PilResize() {
    }

    /** {@code img.resize((width, height), Image.BICUBIC)}. */
    public static RgbImage bicubic(RgbImage src, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("target size must be positive, got " + width + "x" + height);
        }
        int inW = src.width();
        int inH = src.height();
        // box = (0, 0, inW, inH): need_horizontal = xsize != inW || box[0] || box[2] != xsize
        boolean needHorizontal = width != inW;
        boolean needVertical = height != inH;

        Coefficients vert = precompute(inH, 0.0f, inH, height);
        int yFirst = vert.bounds[0];
        int yLast = vert.bounds[height * 2 - 2] + vert.bounds[height * 2 - 1];

        byte[] cur = src.rgb();
        int curW = inW;
        int curH = inH;
        if (needHorizontal) {
            Coefficients horiz = precompute(inW, 0.0f, inW, width);
            for (int i = 0; i < height; i++) {
                vert.bounds[i * 2] -= yFirst;
            }
            int rows = yLast - yFirst;
            cur = horizontal(cur, inW, yFirst, rows, width, horiz);
            curW = width;
            curH = rows;
        }
        if (needVertical) {
            cur = vertical(cur, curW, curH, height, vert);
            curH = height;
        }
        if (!needHorizontal && !needVertical) {
            cur = cur.clone();
        }
        return new RgbImage(curW, curH, cur);
    }

    /** Bounds (xmin, count) per output pixel and fixed-point weights, {@code ksize} per output pixel. */
    record Coefficients(int ksize, int[] bounds, int[] weights) {
    }

    static double bicubicFilter(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** {@code precompute_coeffs} followed by {@code normalize_coeffs_8bpc}. */
    static Coefficients precompute(int inSize, float in0, float in1, int outSize) {
        double scale = (double) (in1 - in0) / outSize;
        double filterscale = scale;
        if (filterscale < 1.0) {
            filterscale = 1.0;
        }
        double support = BICUBIC_SUPPORT * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        if ((long) outSize * ksize > Integer.MAX_VALUE / 8) {
            throw new IllegalArgumentException("resize too large: " + inSize + " -> " + outSize);
        }
        double[] kk = new double[outSize * ksize];
        int[] bounds = new int[outSize * 2];
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            double ss = 1.0 / filterscale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            int base = xx * ksize;
            for (int x = 0; x < xmax; x++) {
                double w = bicubicFilter((x + xmin - center + 0.5) * ss);
                kk[base + x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                if (ww != 0.0) {
                    kk[base + x] /= ww;
                }
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        int[] fixed = new int[kk.length];
        double one = 1 << PRECISION_BITS;
        for (int i = 0; i < kk.length; i++) {
            double v = kk[i];
            fixed[i] = v < 0 ? (int) (-0.5 + v * one) : (int) (0.5 + v * one);
        }
        return new Coefficients(ksize, bounds, fixed);
    }

    private static int clip8(int v) {
        int s = v >> PRECISION_BITS;
        return s < 0 ? 0 : (s > 255 ? 255 : s);
    }

    private static byte[] horizontal(byte[] in, int inW, int rowOffset, int rows, int outW, Coefficients c) {
        byte[] out = new byte[rows * outW * 3];
        int ksize = c.ksize();
        int[] bounds = c.bounds();
        int[] k = c.weights();
        int half = 1 << (PRECISION_BITS - 1);
        for (int yy = 0; yy < rows; yy++) {
            int rowIn = (yy + rowOffset) * inW * 3;
            int rowOut = yy * outW * 3;
            for (int xx = 0; xx < outW; xx++) {
                int xmin = bounds[xx * 2];
                int xmax = bounds[xx * 2 + 1];
                int kb = xx * ksize;
                int ss0 = half;
                int ss1 = half;
                int ss2 = half;
                int p = rowIn + xmin * 3;
                for (int x = 0; x < xmax; x++, p += 3) {
                    int w = k[kb + x];
                    ss0 += (in[p] & 0xFF) * w;
                    ss1 += (in[p + 1] & 0xFF) * w;
                    ss2 += (in[p + 2] & 0xFF) * w;
                }
                int o = rowOut + xx * 3;
                out[o] = (byte) clip8(ss0);
                out[o + 1] = (byte) clip8(ss1);
                out[o + 2] = (byte) clip8(ss2);
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] in, int w, int inH, int outH, Coefficients c) {
        byte[] out = new byte[outH * w * 3];
        int ksize = c.ksize();
        int[] bounds = c.bounds();
        int[] k = c.weights();
        int half = 1 << (PRECISION_BITS - 1);
        int stride = w * 3;
        for (int yy = 0; yy < outH; yy++) {
            int kb = yy * ksize;
            int ymin = bounds[yy * 2];
            int ymax = bounds[yy * 2 + 1];
            int rowOut = yy * stride;
            for (int xx = 0; xx < w; xx++) {
                int ss0 = half;
                int ss1 = half;
                int ss2 = half;
                int p = ymin * stride + xx * 3;
                for (int y = 0; y < ymax; y++, p += stride) {
                    int wt = k[kb + y];
                    ss0 += (in[p] & 0xFF) * wt;
                    ss1 += (in[p + 1] & 0xFF) * wt;
                    ss2 += (in[p + 2] & 0xFF) * wt;
                }
                int o = rowOut + xx * 3;
                out[o] = (byte) clip8(ss0);
                out[o + 1] = (byte) clip8(ss1);
                out[o + 2] = (byte) clip8(ss2);
            }
        }
        return out;
    }
}
