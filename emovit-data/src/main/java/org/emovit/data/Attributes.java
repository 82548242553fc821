package org.emovit.data;

import org.emovit.image.RgbImage;

/**
 * EmoSet's two low-level attributes computed from pixels, for images that come without EmoSet annotations.
 *
 * <p>EmoSet gives brightness and colorfulness in [0, 1], quantised to 0.0, 0.1, ..., 1.0 (0 = darkest /
 * black-and-white, 1 = brightest / most colourful); its exact formula is only in the paper's supplementary
 * material. These are the standard measures, documented here so the numbers can be reproduced:
 *
 * <ul>
 *   <li><b>Brightness</b>: the mean of the HSV value channel, {@code V = max(R, G, B) / 255}, over all pixels
 *       (A. R. Smith, "Color gamut transform pairs", SIGGRAPH 1978; the V of PIL's and OpenCV's HSV).</li>
 *   <li><b>Colorfulness</b>: Hasler and Süsstrunk's metric (D. Hasler, S. Süsstrunk, "Measuring colourfulness in
 *       natural images", Proc. SPIE 5007, 2003), on 0..255 sRGB values: {@code rg = R - G},
 *       {@code yb = (R + G) / 2 - B}, {@code M = sqrt(sd(rg)^2 + sd(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)}
 *       (population standard deviations), divided by {@value #COLORFULNESS_SCALE} — the value the paper's
 *       perceptual scale calls "extremely colourful" — and clipped to [0, 1].</li>
 *   <li>Both are rounded to one decimal, halves up ({@code Math.round(10 x) / 10}).</li>
 * </ul>
 */
public final class Attributes {
    /** Hasler–Süsstrunk M of an "extremely colourful" image; M at or above it maps to 1.0. */
    public static final double COLORFULNESS_SCALE = 109.0;

    private Attributes() {
    }

    /** Brightness and colorfulness, each rounded to one decimal. */
    public record Values(double brightness, double colorfulness) {
    }

    public static Values of(RgbImage img) {
        return new Values(quantise(brightness(img)), quantise(colorfulness(img)));
    }

    /** Mean HSV value in [0, 1], not rounded. */
    public static double brightness(RgbImage img) {
        byte[] p = img.rgb();
        long sum = 0;
        for (int i = 0; i < p.length; i += 3) {
            sum += Math.max(p[i] & 0xFF, Math.max(p[i + 1] & 0xFF, p[i + 2] & 0xFF));
        }
        return sum / (255.0 * (p.length / 3));
    }

    /** Hasler–Süsstrunk M (0 for a grey image, about 109 for an extremely colourful one), not normalised. */
    public static double haslerSusstrunk(RgbImage img) {
        byte[] p = img.rgb();
        long n = p.length / 3;
        double sRg = 0;
        double sYb = 0;
        double sRg2 = 0;
        double sYb2 = 0;
        for (int i = 0; i < p.length; i += 3) {
            int r = p[i] & 0xFF;
            int g = p[i + 1] & 0xFF;
            int b = p[i + 2] & 0xFF;
            double rg = r - g;
            double yb = 0.5 * (r + g) - b;
            sRg += rg;
            sYb += yb;
            sRg2 += rg * rg;
            sYb2 += yb * yb;
        }
        double mRg = sRg / n;
        double mYb = sYb / n;
        double vRg = Math.max(0, sRg2 / n - mRg * mRg);
        double vYb = Math.max(0, sYb2 / n - mYb * mYb);
        return Math.sqrt(vRg + vYb) + 0.3 * Math.sqrt(mRg * mRg + mYb * mYb);
    }

    /** Colorfulness in [0, 1], not rounded. */
    public static double colorfulness(RgbImage img) {
        return Math.min(1.0, haslerSusstrunk(img) / COLORFULNESS_SCALE);
    }

    /** Rounds to one decimal, halves up, giving exactly the doubles 0.0, 0.1, ..., 1.0. */
    public static double quantise(double x) {
        long tenths = Math.round(Math.max(0, Math.min(1, x)) * 10);
        return tenths / 10.0;
    }
}
