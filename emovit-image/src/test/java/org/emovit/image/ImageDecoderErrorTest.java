package org.emovit.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.emovit.image.ImageDecodeException.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageDecoderErrorTest {

    @TempDir
    Path tmp;

    static ImageDecodeException decodeFails(Path file) {
        try {
            ImageDecoder.decode(file);
        } catch (ImageDecodeException e) {
            assertThat(e.getMessage()).contains(file.toString());
            return e;
        }
        throw new AssertionError("decoding " + file + " should have failed");
    }

    @Test
    void textFileRenamedJpg() throws Exception {
        Path f = tmp.resolve("notes.jpg");
        Files.writeString(f, "This is not a picture.\nJust some text.\n", StandardCharsets.UTF_8);
        ImageDecodeException e = decodeFails(f);
        assertThat(e.reason()).isEqualTo(Reason.NOT_AN_IMAGE);
        assertThat(e.getMessage()).contains("not an image");
    }

    @Test
    void emptyFile() throws Exception {
        Path f = tmp.resolve("empty.png");
        Files.write(f, new byte[0]);
        assertThat(decodeFails(f).reason()).isEqualTo(Reason.NOT_AN_IMAGE);
    }

    @Test
    void missingFile() {
        Path f = tmp.resolve("nope").resolve("missing.jpg");
        ImageDecodeException e = decodeFails(f);
        assertThat(e.reason()).isEqualTo(Reason.MISSING_FILE);
        assertThat(e.getMessage()).contains("missing file");
    }

    @Test
    void directoryIsNotAnImage() {
        assertThat(decodeFails(tmp).reason()).isEqualTo(Reason.MISSING_FILE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"photo.jpg", "photo_progressive.jpg", "cmyk.jpg"})
    void truncatedJpeg(String name) throws Exception {
        byte[] all = Files.readAllBytes(ParityTest.resource(name));
        Path f = tmp.resolve("half_" + name);
        Files.write(f, Arrays.copyOf(all, all.length / 2));
        ImageDecodeException e = decodeFails(f);
        assertThat(e.reason()).isEqualTo(Reason.TRUNCATED);
        assertThat(e.getMessage()).contains("truncated");
    }

    @Test
    void jpegCutInsideHeaders() throws Exception {
        byte[] all = Files.readAllBytes(ParityTest.resource("photo.jpg"));
        Path f = tmp.resolve("head.jpg");
        Files.write(f, Arrays.copyOf(all, 100));
        assertThat(decodeFails(f).reason()).isEqualTo(Reason.TRUNCATED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"alpha.png", "wide.bmp", "palette.gif"})
    void truncatedLosslessFiles(String name) throws Exception {
        byte[] all = Files.readAllBytes(ParityTest.resource(name));
        Path f = tmp.resolve("half_" + name);
        Files.write(f, Arrays.copyOf(all, all.length / 2));
        ImageDecodeException e = decodeFails(f);
        assertThat(e.reason()).isIn(Reason.TRUNCATED, Reason.CORRUPT);
    }

    @Test
    void pngBombFailsOnTheHeaderCheck() throws Exception {
        Path f = tmp.resolve("bomb.png");
        Files.write(f, TestImages.pngBomb(30000, 30000));
        long t0 = System.nanoTime();
        ImageDecodeException e = decodeFails(f);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(e.reason()).isEqualTo(Reason.TOO_LARGE);
        assertThat(e.getMessage()).contains("30000 x 30000").contains(Long.toString(ImageDecoder.DEFAULT_MAX_PIXELS));
        // 900M pixels would be 2.7 GB of RGB: only a header check can be this quick (the test JVM has -Xmx4g)
        assertThat(ms).isLessThan(2000);
    }

    @Test
    void jpegBombFailsOnTheHeaderCheck() throws Exception {
        byte[] all = Files.readAllBytes(ParityTest.resource("photo.jpg"));
        // patch the SOF0 frame size to 60000 x 60000
        for (int i = 2; i < all.length - 9; ) {
            int marker = all[i + 1] & 0xFF;
            int len = ((all[i + 2] & 0xFF) << 8) | (all[i + 3] & 0xFF);
            if (marker == 0xC0) {
                all[i + 5] = (byte) (60000 >> 8);
                all[i + 6] = (byte) 60000;
                all[i + 7] = (byte) (60000 >> 8);
                all[i + 8] = (byte) 60000;
                break;
            }
            i += 2 + len;
        }
        Path f = tmp.resolve("bomb.jpg");
        Files.write(f, all);
        ImageDecodeException e = decodeFails(f);
        assertThat(e.reason()).isEqualTo(Reason.TOO_LARGE);
        assertThat(e.getMessage()).contains("60000 x 60000");
    }

    @Test
    void bmpBombFailsOnTheHeaderCheck() throws Exception {
        Path f = tmp.resolve("bomb.bmp");
        Files.write(f, TestImages.bmpBomb(40000, 40000));
        assertThat(decodeFails(f).reason()).isEqualTo(Reason.TOO_LARGE);
    }

    @Test
    void gifBombFailsOnTheHeaderCheck() throws Exception {
        byte[] palette = new byte[768];
        byte[] gif = TestImages.gif(60000, 60000, 0, 0, 2, 2, new byte[4], palette, -1);
        Path f = tmp.resolve("bomb.gif");
        Files.write(f, gif);
        assertThat(decodeFails(f).reason()).isEqualTo(Reason.TOO_LARGE);
    }

    @Test
    void limitIsTheCallersChoice() throws Exception {
        byte[] bytes = Files.readAllBytes(ParityTest.resource("photo.jpg"));
        assertThatThrownBy(() -> ImageDecoder.decode(bytes, "photo.jpg", 640L * 480 - 1))
                .isInstanceOf(ImageDecodeException.class)
                .hasMessageContaining("photo.jpg")
                .hasMessageContaining("640 x 480");
        assertThat(ImageDecoder.decode(bytes, "photo.jpg", 640L * 480).width()).isEqualTo(640);
    }

    @Test
    void bytesAndPathGiveTheSamePixels() throws Exception {
        for (String name : new String[] {"photo.jpg", "alpha.png", "palette.gif", "wide.bmp"}) {
            Path p = ParityTest.resource(name);
            RgbImage a = ImageDecoder.decode(p);
            RgbImage b = ImageDecoder.decode(Files.readAllBytes(p), name, ImageDecoder.DEFAULT_MAX_PIXELS);
            assertThat(b.width()).isEqualTo(a.width());
            assertThat(b.rgb()).isEqualTo(a.rgb());
        }
    }

    @Test
    void unsupportedButRecognisedFormat() throws Exception {
        Path f = tmp.resolve("layers.psd");
        Files.write(f, "8BPS\0\1\0\0\0\0\0\0\0\3".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(decodeFails(f).reason()).isEqualTo(Reason.UNSUPPORTED_FORMAT);
    }
}
