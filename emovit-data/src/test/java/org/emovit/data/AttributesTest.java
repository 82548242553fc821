package org.emovit.data;

import org.emovit.image.RgbImage;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class AttributesTest {

    static RgbImage image(int w, int h, java.util.function.BiFunction<Integer, Integer, int[]> px) {
        byte[] b = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] p = px.apply(x, y);
                for (int c = 0; c < 3; c++) {
                    b[(y * w + x) * 3 + c] = (byte) p[c];
                }
            }
        }
        return new RgbImage(w, h, b);
    }

    @Test
    void extremes() {
        assertThat(Attributes.of(image(4, 4, (x, y) -> new int[] {0, 0, 0}))).isEqualTo(new Attributes.Values(0.0, 0.0));
        assertThat(Attributes.of(image(4, 4, (x, y) -> new int[] {255, 255, 255}))).isEqualTo(new Attributes.Values(1.0, 0.0));
        assertThat(Attributes.of(image(4, 4, (x, y) -> new int[] {128, 128, 128})).colorfulness()).isEqualTo(0.0);
        // saturated red and green halves: very colourful, full value
        RgbImage rg = image(4, 4, (x, y) -> x < 2 ? new int[] {255, 0, 0} : new int[] {0, 255, 0});
        assertThat(Attributes.of(rg)).isEqualTo(new Attributes.Values(1.0, 1.0));
    }

    @Test
    void matchesTheFormulaComputedIndependently() {
        // values from the formula evaluated in plain Python on the same pixels
        RgbImage im = image(5, 4, (x, y) -> new int[] {100 + 10 * x, 90 + 15 * y, 120 - 5 * (x + y)});
        assertThat(Attributes.brightness(im)).isCloseTo(0.5, within(1e-12));
        assertThat(Attributes.haslerSusstrunk(im)).isCloseTo(34.30553473812065, within(1e-9));
        assertThat(Attributes.of(im)).isEqualTo(new Attributes.Values(0.5, 0.3));
    }
}
