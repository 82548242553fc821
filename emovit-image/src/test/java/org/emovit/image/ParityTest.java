package org.emovit.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pixel parity with PIL + torchvision on the reference images ({@code reference/images/expected.safetensors},
 * made by PIL {@code Image.open(f).convert("RGB")}, {@code Resize((224, 224), BICUBIC)}, {@code ToTensor()},
 * {@code Normalize(CLIP mean, std)}).
 */
class ParityTest {

    static final String DIR = "/reference/images/";
    static final float MIN_STD = Math.min(EvalTransform.STD[0], Math.min(EvalTransform.STD[1], EvalTransform.STD[2]));
    /** one 8-bit level after normalisation, in the channel where it is largest */
    static final float ONE_LEVEL = 1f / 255f / MIN_STD;

    static TestSafetensors expected;
    static final Map<String, String> TABLE = new TreeMap<>();

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = ParityTest.class.getResourceAsStream(DIR + "expected.safetensors")) {
            assertThat(in).as("expected.safetensors on the test classpath").isNotNull();
            expected = TestSafetensors.load(in);
        }
    }

    @AfterAll
    static void printTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("\nPIL parity, end to end (decoded, resized: abs error in 0..255 levels as max/mean/#pixels differing;"
                + " pixel_values: abs error after Normalize as max/mean).\nLast columns: each stage alone from PIL's own"
                + " input (PilResize on PIL's decoded pixels, ToTensor+Normalize on PIL's resized pixels), max abs error.\n");
        sb.append(String.format(Locale.ROOT, "%-22s %-18s %-18s %-18s %-12s %s%n",
                "image", "decoded", "resized", "pixel_values", "resize-only", "normalize-only"));
        TABLE.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "%-22s %s%n", k, v)));
        System.out.println(sb);
    }

    static Path resource(String name) throws URISyntaxException {
        return Paths.get(ParityTest.class.getResource(DIR + name).toURI());
    }

    static String key(String file) {
        return file.replace('.', '_');
    }

    record Diff(int max, double mean, int pixels) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d/%.4f/%d", max, mean, pixels);
        }
    }

    static Diff diff(byte[] a, byte[] b) {
        assertThat(a.length).isEqualTo(b.length);
        int max = 0;
        long sum = 0;
        int px = 0;
        for (int i = 0; i < a.length; i += 3) {
            boolean differs = false;
            for (int c = 0; c < 3; c++) {
                int d = Math.abs((a[i + c] & 0xFF) - (b[i + c] & 0xFF));
                max = Math.max(max, d);
                sum += d;
                differs |= d != 0;
            }
            if (differs) {
                px++;
            }
        }
        return new Diff(max, (double) sum / a.length, px);
    }

    static double[] diff(float[] a, float[] b) {
        assertThat(a.length).isEqualTo(b.length);
        double max = 0;
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            max = Math.max(max, d);
            sum += d;
        }
        return new double[] {max, sum / a.length};
    }

    @ParameterizedTest
    @ValueSource(strings = {"alpha.png", "cmyk.jpg", "exact224.png", "gray.png", "palette.gif", "photo.jpg",
            "photo_progressive.jpg", "tiny.png", "wide.bmp"})
    void parity(String file) throws Exception {
        String k = key(file);
        TestSafetensors.Tensor expDecoded = expected.get("decoded." + k);
        byte[] expResized = expected.get("resized." + k).u8();
        float[] expPixels = expected.get("pixel_values." + k).f32();

        RgbImage decoded = ImageDecoder.decode(resource(file));
        assertThat(new int[] {decoded.height(), decoded.width(), 3}).containsExactly(expDecoded.shape());
        Diff dDecoded = diff(decoded.rgb(), expDecoded.u8());

        EvalTransform t = new EvalTransform(224);
        RgbImage resized = t.resize(decoded);
        Diff dResized = diff(resized.rgb(), expResized);
        float[] pixels = t.apply(decoded);
        double[] dPixels = diff(pixels, expPixels);

        // the stages alone, from PIL's own inputs
        RgbImage pilDecoded = new RgbImage(expDecoded.shape()[1], expDecoded.shape()[0], expDecoded.u8());
        Diff resizeOnly = diff(PilResize.bicubic(pilDecoded, 224, 224).rgb(), expResized);
        double[] normOnly = diff(t.toTensor(new RgbImage(224, 224, expResized)), expPixels);

        TABLE.put(file, String.format(Locale.ROOT, "%-18s %-18s %-18s %-12d %.3g", dDecoded, dResized,
                String.format(Locale.ROOT, "%.3g/%.3g", dPixels[0], dPixels[1]), resizeOnly.max(), normOnly[0]));

        // resize and normalisation are exact ports: bit-exact from PIL's inputs, for every image
        assertThat(resizeOnly.max()).as("PilResize from PIL's decoded pixels").isZero();
        assertThat(normOnly[0]).as("ToTensor+Normalize from PIL's resized pixels").isZero();

        if (file.endsWith(".jpg")) {
            // JPEG decoders may differ in the last bits (IDCT / upsampling implementations)
            assertThat(dDecoded.max()).as("decoded max abs error").isLessThanOrEqualTo(JPEG_MAX_DECODED);
            assertThat(dDecoded.mean()).as("decoded mean abs error").isLessThanOrEqualTo(JPEG_MEAN);
            assertThat(dResized.max()).as("resized max abs error").isLessThanOrEqualTo(JPEG_MAX_RESIZED);
            assertThat(dPixels[0]).as("pixel_values max abs error").isLessThanOrEqualTo(JPEG_MAX_RESIZED * ONE_LEVEL * 1.0001);
        } else {
            assertThat(dDecoded.max()).as("decoded must be exact for a lossless format").isZero();
            assertThat(dResized.max()).as("resized").isZero();
            assertThat(dPixels[0]).as("pixel_values").isZero();
        }
    }

    /**
     * JPEG tolerance: PIL decodes with libjpeg-turbo, this module with the JDK's libjpeg 6b (same islow IDCT and
     * fancy upsampling, colour conversion ported from libjpeg); they agree bit for bit on the fixtures, but allow
     * the last bits to differ (2 levels max, 0.05 mean) should another JDK build's libjpeg differ.
     */
    static final int JPEG_MAX_DECODED = 2;
    static final double JPEG_MEAN = 0.05;
    static final int JPEG_MAX_RESIZED = 2;
}
