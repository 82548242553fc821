package org.emovit.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

/**
 * PIL's {@code convert("RGB")} rules on hand-built files whose exact samples are known. The expected values
 * follow Pillow's unpackers and converters (PngImagePlugin modes/rawmodes, Convert.c, GifImagePlugin).
 */
class ConversionTest {

    static RgbImage decode(byte[] bytes) {
        return ImageDecoder.decode(bytes, "test", ImageDecoder.DEFAULT_MAX_PIXELS);
    }

    static int[] px(RgbImage img, int x, int y) {
        return new int[] {img.get(x, y, 0), img.get(x, y, 1), img.get(x, y, 2)};
    }

    static byte[] u16(int... values) {
        byte[] b = new byte[values.length * 2];
        for (int i = 0; i < values.length; i++) {
            b[2 * i] = (byte) (values[i] >> 8);
            b[2 * i + 1] = (byte) values[i];
        }
        return b;
    }

    @Test
    void png16BitRgbKeepsTheHighByte() {
        // PIL: mode RGB, rawmode "RGB;16B"
        byte[] png = TestImages.png(2, 1, 16, 2, new byte[][] {u16(0x1234, 0xABCD, 0x00FF, 0xFFFF, 0x8000, 0x7FFF)}, null, null);
        RgbImage img = decode(png);
        assertThat(px(img, 0, 0)).containsExactly(0x12, 0xAB, 0x00);
        assertThat(px(img, 1, 0)).containsExactly(0xFF, 0x80, 0x7F);
    }

    @Test
    void png16BitRgbaKeepsTheHighByteAndDropsAlpha() {
        byte[] png = TestImages.png(1, 1, 16, 6, new byte[][] {u16(0x1234, 0x5678, 0x9ABC, 0x0000)}, null, null);
        assertThat(px(decode(png), 0, 0)).containsExactly(0x12, 0x56, 0x9A);
    }

    @Test
    void png16BitGreyIsClippedAsPilDoes() {
        // PIL opens it as "I;16"; I;16 -> RGB clips at 255 (it does not scale)
        byte[] png = TestImages.png(5, 1, 16, 0, new byte[][] {u16(0, 100, 255, 256, 65535)}, null, null);
        RgbImage img = decode(png);
        int[][] expected = {{0, 0, 0}, {100, 100, 100}, {255, 255, 255}, {255, 255, 255}, {255, 255, 255}};
        for (int x = 0; x < 5; x++) {
            assertThat(px(img, x, 0)).as("x=%d", x).containsExactly(expected[x]);
        }
    }

    @Test
    void png16BitGreyAlphaKeepsTheHighByte() {
        // PIL: mode LA, rawmode "LA;16B"
        byte[] png = TestImages.png(2, 1, 16, 4, new byte[][] {u16(0x1234, 0xFFFF, 0xABCD, 0)}, null, null);
        RgbImage img = decode(png);
        assertThat(px(img, 0, 0)).containsExactly(0x12, 0x12, 0x12);
        assertThat(px(img, 1, 0)).containsExactly(0xAB, 0xAB, 0xAB);
    }

    @Test
    void pngGreyAlphaDropsAlpha() {
        byte[] png = TestImages.png(2, 1, 8, 4, new byte[][] {{(byte) 200, 0, 7, (byte) 128}}, null, null);
        RgbImage img = decode(png);
        assertThat(px(img, 0, 0)).containsExactly(200, 200, 200);
        assertThat(px(img, 1, 0)).containsExactly(7, 7, 7);
    }

    @Test
    void pngLowBitDepthGreyIsScaled() {
        // PIL unpackers: "1" -> 0/255, "L;2" -> v * 0x55, "L;4" -> v * 0x11
        RgbImage one = decode(TestImages.png(8, 1, 1, 0, new byte[][] {{(byte) 0b10100000}}, null, null));
        assertThat(px(one, 0, 0)).containsExactly(255, 255, 255);
        assertThat(px(one, 1, 0)).containsExactly(0, 0, 0);
        assertThat(px(one, 2, 0)).containsExactly(255, 255, 255);
        RgbImage two = decode(TestImages.png(4, 1, 2, 0, new byte[][] {{(byte) 0b00011011}}, null, null));
        for (int x = 0; x < 4; x++) {
            assertThat(two.get(x, 0, 0)).isEqualTo(x * 0x55);
        }
        RgbImage four = decode(TestImages.png(2, 1, 4, 0, new byte[][] {{(byte) 0x3C}}, null, null));
        assertThat(four.get(0, 0, 1)).isEqualTo(3 * 0x11);
        assertThat(four.get(1, 0, 2)).isEqualTo(12 * 0x11);
    }

    @Test
    void pngGreyWithTransparencyIgnoresIt() {
        byte[] png = TestImages.png(2, 1, 8, 0, new byte[][] {{5, 9}}, null, new byte[] {0, 5});
        RgbImage img = decode(png);
        assertThat(px(img, 0, 0)).containsExactly(5, 5, 5);
        assertThat(px(img, 1, 0)).containsExactly(9, 9, 9);
    }

    @Test
    void pngRgbWithTransparencyIgnoresIt() {
        byte[] png = TestImages.png(1, 1, 8, 2, new byte[][] {{1, 2, 3}}, null, new byte[] {0, 1, 0, 2, 0, 3});
        assertThat(px(decode(png), 0, 0)).containsExactly(1, 2, 3);
    }

    @Test
    void pngPaletteUsesPaletteColoursAndIgnoresAlpha() {
        byte[] plte = {10, 20, 30, 40, 50, 60};
        byte[] trns = {0, (byte) 128};
        // index 5 is past the 2-entry palette: PIL's palette is a grey ramp there
        byte[] png = TestImages.png(3, 1, 8, 3, new byte[][] {{0, 1, 5}}, plte, trns);
        RgbImage img = decode(png);
        assertThat(px(img, 0, 0)).containsExactly(10, 20, 30);
        assertThat(px(img, 1, 0)).containsExactly(40, 50, 60);
        assertThat(px(img, 2, 0)).containsExactly(5, 5, 5);
    }

    @Test
    void pngLowBitPalette() {
        byte[] plte = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        byte[] png = TestImages.png(4, 1, 2, 3, new byte[][] {{(byte) 0b11100100}}, plte, null);
        RgbImage img = decode(png);
        assertThat(px(img, 0, 0)).containsExactly(10, 11, 12);
        assertThat(px(img, 1, 0)).containsExactly(7, 8, 9);
        assertThat(px(img, 2, 0)).containsExactly(4, 5, 6);
        assertThat(px(img, 3, 0)).containsExactly(1, 2, 3);
    }

    @Test
    void bmp16BitScalesLikePil() {
        // PIL: BI_RGB 16-bit is "BGR;15", 5-6-5 bitfields "BGR;16": v * 255 / 31 and v * 255 / 63, truncated
        RgbImage rgb555 = decode(TestImages.bmp16(new int[] {(4 << 10) | (17 << 5) | 31, 0x7FFF}, false));
        assertThat(px(rgb555, 0, 0)).containsExactly(4 * 255 / 31, 17 * 255 / 31, 255);
        assertThat(px(rgb555, 1, 0)).containsExactly(255, 255, 255);
        RgbImage rgb565 = decode(TestImages.bmp16(new int[] {(4 << 11) | (33 << 5) | 1, 0}, true));
        assertThat(px(rgb565, 0, 0)).containsExactly(4 * 255 / 31, 33 * 255 / 63, 255 / 31);
        assertThat(px(rgb565, 1, 0)).containsExactly(0, 0, 0);
    }

    static byte[] palette() {
        byte[] p = new byte[768];
        for (int i = 0; i < 256; i++) {
            p[3 * i] = (byte) i;
            p[3 * i + 1] = (byte) (255 - i);
            p[3 * i + 2] = (byte) (i * 7);
        }
        return p;
    }

    static int[] pal(int i) {
        return new int[] {i, 255 - i, (i * 7) & 0xFF};
    }

    @Test
    void gifFirstFrameOnItsLogicalScreen() throws Exception {
        byte[] idx = {1, 2, 3, 4, 5, 6};
        // no transparency: PIL's canvas is index 0
        RgbImage img = decode(TestImages.gif(6, 5, 2, 1, 3, 2, idx, palette(), -1));
        assertThat(img.width()).isEqualTo(6);
        assertThat(img.height()).isEqualTo(5);
        assertThat(px(img, 0, 0)).containsExactly(pal(0));
        assertThat(px(img, 2, 1)).containsExactly(pal(1));
        assertThat(px(img, 4, 2)).containsExactly(pal(6));
        assertThat(px(img, 5, 4)).containsExactly(pal(0));
        // with a transparent index: the canvas is filled with it
        RgbImage t = decode(TestImages.gif(6, 5, 2, 1, 3, 2, idx, palette(), 9));
        assertThat(px(t, 0, 0)).containsExactly(pal(9));
        assertThat(px(t, 3, 1)).containsExactly(pal(2));
    }

    @Test
    void gifFrameLargerThanTheScreenGrowsTheImage() throws Exception {
        byte[] idx = new byte[9];
        for (int i = 0; i < 9; i++) {
            idx[i] = (byte) (100 + i);
        }
        RgbImage img = decode(TestImages.gif(2, 2, 1, 1, 3, 3, idx, palette(), -1));
        assertThat(img.width()).isEqualTo(4);
        assertThat(img.height()).isEqualTo(4);
        assertThat(px(img, 0, 0)).containsExactly(pal(0));
        assertThat(px(img, 1, 1)).containsExactly(pal(100));
        assertThat(px(img, 3, 3)).containsExactly(pal(108));
    }

    @Test
    void gifWholeScreenFrame() throws Exception {
        byte[] idx = {7, 8, 9, 10};
        RgbImage img = decode(TestImages.gif(2, 2, 0, 0, 2, 2, idx, palette(), 7));
        assertThat(px(img, 0, 0)).containsExactly(pal(7));
        assertThat(px(img, 1, 1)).containsExactly(pal(10));
    }

    @Test
    void greyJpegIsReplicated() throws Exception {
        BufferedImage grey = new BufferedImage(33, 17, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 17; y++) {
            for (int x = 0; x < 33; x++) {
                grey.getRaster().setSample(x, y, 0, (x * 7 + y * 13) & 0xFF);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(grey, "jpeg", out)).isTrue();
        byte[] jpeg = out.toByteArray();
        RgbImage img = decode(jpeg);
        Raster raw = jdkRaster(jpeg);
        for (int y = 0; y < 17; y++) {
            for (int x = 0; x < 33; x++) {
                int v = raw.getSample(x, y, 0);
                assertThat(px(img, x, y)).containsExactly(v, v, v);
            }
        }
    }

    @Test
    void yccToRgbMatchesLibjpegInTheJdk() throws Exception {
        // the JDK's own libjpeg converts YCbCr with the same tables: its RGB must equal ours
        byte[] jpeg = Files.readAllBytes(ParityTest.resource("photo.jpg"));
        RgbImage ours = decode(jpeg);
        BufferedImage jdk = jdkReader(jpeg).read(0);
        int mismatches = 0;
        for (int y = 0; y < ours.height(); y++) {
            for (int x = 0; x < ours.width(); x++) {
                int[] p = jdk.getRaster().getPixel(x, y, (int[]) null);
                if (p[0] != ours.get(x, y, 0) || p[1] != ours.get(x, y, 1) || p[2] != ours.get(x, y, 2)) {
                    mismatches++;
                }
            }
        }
        assertThat(mismatches).isZero();
    }

    @Test
    void cmykToRgbIsPils() {
        // cmyk2rgb: nk = 255 - k; CLIP8(nk - MULDIV255(v, nk))
        assertThat(ColourConversion.cmykToRgb(0, 0)).isEqualTo(255);
        assertThat(ColourConversion.cmykToRgb(255, 0)).isEqualTo(0);
        assertThat(ColourConversion.cmykToRgb(0, 255)).isEqualTo(0);
        assertThat(ColourConversion.cmykToRgb(128, 0)).isEqualTo(127);
        assertThat(ColourConversion.cmykToRgb(100, 50)).isEqualTo(205 - (100 * 205 + 128 + ((100 * 205 + 128) >> 8) >> 8));
    }

    @Test
    void jpegColourSpaceFollowsLibjpeg() throws Exception {
        assertThat(header(true, -1, 1, 2, 3).colorSpace()).isEqualTo(JpegHeader.ColorSpace.YCBCR);
        assertThat(header(false, 0, 1, 2, 3).colorSpace()).isEqualTo(JpegHeader.ColorSpace.RGB);
        assertThat(header(false, 1, 'R', 'G', 'B').colorSpace()).isEqualTo(JpegHeader.ColorSpace.YCBCR);
        assertThat(header(false, -1, 'R', 'G', 'B').colorSpace()).isEqualTo(JpegHeader.ColorSpace.RGB);
        assertThat(header(false, -1, 1, 2, 3).colorSpace()).isEqualTo(JpegHeader.ColorSpace.YCBCR);
        assertThat(header(false, 2, 1, 2, 3, 4).colorSpace()).isEqualTo(JpegHeader.ColorSpace.YCCK);
        assertThat(header(false, 0, 1, 2, 3, 4).colorSpace()).isEqualTo(JpegHeader.ColorSpace.CMYK);
        assertThat(header(false, -1, 1, 2, 3, 4).colorSpace()).isEqualTo(JpegHeader.ColorSpace.CMYK);
        assertThat(header(false, -1, 1).colorSpace()).isEqualTo(JpegHeader.ColorSpace.GRAYSCALE);
        JpegHeader h = header(true, -1, 1, 2, 3);
        assertThat(h.width).isEqualTo(640);
        assertThat(h.height).isEqualTo(480);
        assertThat(h.precision).isEqualTo(8);
    }

    /** SOI, optional JFIF APP0, optional Adobe APP14 (transform), SOF0 640x480 with the given component ids, SOS. */
    static JpegHeader header(boolean jfif, int adobeTransform, int... ids) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0xFF);
        b.write(0xD8);
        if (jfif) {
            b.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0});
        }
        if (adobeTransform >= 0) {
            b.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0,
                    (byte) adobeTransform});
        }
        int len = 8 + 3 * ids.length;
        b.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xC0, 0, (byte) len, 8, 1, (byte) 224, 2, (byte) 128, (byte) ids.length});
        for (int id : ids) {
            b.writeBytes(new byte[] {(byte) id, 0x11, 0});
        }
        b.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xDA, 0, 2});
        try (ImageInputStream in = new ByteArrayStream(b.toByteArray())) {
            return JpegHeader.read(in);
        }
    }

    @Test
    void ycckJpegIsConvertedOnceThenInvertedLikePil() throws Exception {
        // A 4-component JPEG whose Adobe marker says YCCK (transform 2): written by the JDK's writer with the
        // metadata of cmyk.jpg, transform changed. The writer stores the samples as given.
        int w = 64;
        int h = 40;
        WritableRaster src = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                src.setSample(x, y, 0, (x * 4) & 0xFF);
                src.setSample(x, y, 1, (y * 6 + 10) & 0xFF);
                src.setSample(x, y, 2, (255 - x * 3) & 0xFF);
                src.setSample(x, y, 3, (x + y * 2) & 0xFF);
            }
        }
        ImageReader template = jdkReader(Files.readAllBytes(ParityTest.resource("cmyk.jpg")));
        IIOMetadata meta = template.getImageMetadata(0);
        Element root = (Element) meta.getAsTree("javax_imageio_jpeg_image_1.0");
        ((Element) root.getElementsByTagName("app14Adobe").item(0)).setAttribute("transform", "2");
        meta.setFromTree("javax_imageio_jpeg_image_1.0", root);
        ImageWriter writer = null;
        for (Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("jpeg"); it.hasNext(); ) {
            ImageWriter wr = it.next();
            if (wr.getClass().getName().startsWith("com.sun.")) {
                writer = wr;
            }
        }
        assertThat(writer).isNotNull();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(src, null, meta), null);
        }
        byte[] jpeg = out.toByteArray();

        RgbImage img = decode(jpeg);
        Raster stored = jdkRaster(jpeg); // the YCCK samples as coded
        int max = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double yy = stored.getSample(x, y, 0);
                double cb = stored.getSample(x, y, 1) - 128.0;
                double cr = stored.getSample(x, y, 2) - 128.0;
                int k = stored.getSample(x, y, 3);
                // libjpeg YCCK -> CMYK (in floating point), then PIL's "CMYK;I" inversion and cmyk2rgb
                double[] cmy = {255 - (yy + 1.402 * cr), 255 - (yy - 0.34414 * cb - 0.71414 * cr), 255 - (yy + 1.772 * cb)};
                for (int c = 0; c < 3; c++) {
                    int v = 255 - (int) Math.max(0, Math.min(255, Math.round(cmy[c])));
                    int nk = k; // 255 - (255 - k)
                    int expected = (int) Math.round(nk - v * nk / 255.0);
                    max = Math.max(max, Math.abs(expected - img.get(x, y, c)));
                }
            }
        }
        assertThat(max).as("max abs difference from the floating-point YCCK -> RGB").isLessThanOrEqualTo(2);
    }

    static ImageReader jdkReader(byte[] jpeg) throws Exception {
        Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName("jpeg");
        while (it.hasNext()) {
            ImageReader r = it.next();
            if (r.getClass().getName().startsWith("com.sun.")) {
                r.setInput(new ByteArrayStream(jpeg));
                return r;
            }
        }
        throw new AssertionError("no JDK JPEG reader");
    }

    static Raster jdkRaster(byte[] jpeg) throws Exception {
        return jdkReader(jpeg).readRaster(0, null);
    }
}
