package org.emovit.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EvalTransformTest {

    @Test
    void constantsAreClipsMeanAndStd() {
        assertThat(EvalTransform.MEAN).containsExactly(0.48145466f, 0.4578275f, 0.40821073f);
        assertThat(EvalTransform.STD).containsExactly(0.26862954f, 0.26130258f, 0.27577711f);
    }

    @Test
    void tinyModelSize28() throws Exception {
        EvalTransform t = new EvalTransform(28);
        Path photo = ParityTest.resource("photo.jpg");
        float[] v = t.apply(photo);
        assertThat(v).hasSize(3 * 28 * 28);
        RgbImage decoded = ImageDecoder.decode(photo);
        RgbImage small = PilResize.bicubic(decoded, 28, 28);
        assertThat(small.width()).isEqualTo(28);
        assertThat(small.height()).isEqualTo(28);
        assertThat(t.apply(decoded)).containsExactly(v);
        // CHW: channel c of pixel (x, y) at c * 28 * 28 + y * 28 + x
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 28; y += 9) {
                for (int x = 0; x < 28; x += 5) {
                    float expected = (small.get(x, y, c) / 255f - EvalTransform.MEAN[c]) / EvalTransform.STD[c];
                    assertThat(v[c * 784 + y * 28 + x]).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void size224Shape() throws Exception {
        float[] v = new EvalTransform(224).apply(ParityTest.resource("tiny.png"));
        assertThat(v).hasSize(3 * 224 * 224);
    }

    @Test
    void normalizeRange() {
        assertThat(EvalTransform.normalize(0, 0)).isEqualTo(-EvalTransform.MEAN[0] / EvalTransform.STD[0]);
        assertThat(EvalTransform.normalize(255, 2)).isEqualTo((1f - EvalTransform.MEAN[2]) / EvalTransform.STD[2]);
    }

    @Test
    void rejectsBadSizes() {
        assertThatThrownBy(() -> new EvalTransform(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new EvalTransform(28).toTensor(new RgbImage(2, 2, new byte[12])))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void resizeKeepsAConstantImageConstant() {
        int[][] sizes = {{1, 1}, {1, 300}, {3000, 2}, {7, 5}, {640, 480}, {224, 225}};
        for (int[] s : sizes) {
            byte[] rgb = new byte[s[0] * s[1] * 3];
            for (int i = 0; i < rgb.length; i += 3) {
                rgb[i] = (byte) 200;
                rgb[i + 1] = 0;
                rgb[i + 2] = (byte) 255;
            }
            RgbImage out = PilResize.bicubic(new RgbImage(s[0], s[1], rgb), 224, 224);
            for (int i = 0; i < out.rgb().length; i += 3) {
                assertThat(out.rgb()[i] & 0xFF).isEqualTo(200);
                assertThat(out.rgb()[i + 1] & 0xFF).isEqualTo(0);
                assertThat(out.rgb()[i + 2] & 0xFF).isEqualTo(255);
            }
        }
    }

    @Test
    void sameSizeIsACopy() {
        byte[] rgb = new byte[5 * 4 * 3];
        new Random(1).nextBytes(rgb);
        RgbImage src = new RgbImage(5, 4, rgb);
        RgbImage out = PilResize.bicubic(src, 5, 4);
        assertThat(out.rgb()).isEqualTo(rgb).isNotSameAs(rgb);
    }

    @Test
    void oneDimensionOnly() {
        // only the changed dimension is resampled: rows stay untouched when only the width changes
        byte[] rgb = new byte[40 * 3 * 3];
        new Random(2).nextBytes(rgb);
        RgbImage src = new RgbImage(40, 3, rgb);
        RgbImage wide = PilResize.bicubic(src, 17, 3);
        assertThat(wide.width()).isEqualTo(17);
        assertThat(wide.height()).isEqualTo(3);
        RgbImage row = PilResize.bicubic(new RgbImage(40, 1, java.util.Arrays.copyOfRange(rgb, 40 * 3, 80 * 3)), 17, 1);
        assertThat(java.util.Arrays.copyOfRange(wide.rgb(), 17 * 3, 34 * 3)).isEqualTo(row.rgb());
    }
}
