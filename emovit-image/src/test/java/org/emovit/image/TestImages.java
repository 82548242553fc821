package org.emovit.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/** Hand-built image files for the tests: exact control over the header fields that matter. */
final class TestImages {

    private TestImages() {
    }

    // ------------------------------------------------------------------ PNG

    static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

    static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        writeInt(out, data.length);
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        writeInt(out, (int) crc.getValue());
    }

    static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }

    static byte[] ihdr(int width, int height, int bitDepth, int colorType) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeInt(b, width);
        writeInt(b, height);
        b.write(bitDepth);
        b.write(colorType);
        b.write(0); // deflate
        b.write(0); // adaptive filtering
        b.write(0); // not interlaced
        return b.toByteArray();
    }

    static byte[] deflate(byte[] raw) {
        Deflater d = new Deflater();
        d.setInput(raw);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) {
            int n = d.deflate(buf);
            out.write(buf, 0, n);
        }
        d.end();
        return out.toByteArray();
    }

    /**
     * A PNG from already packed scanlines (each without its filter byte; filter 0 is added).
     *
     * @param plte palette RGB triples or null; @param trns tRNS payload or null
     */
    static byte[] png(int width, int height, int bitDepth, int colorType, byte[][] scanlines, byte[] plte, byte[] trns) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(PNG_SIGNATURE);
        chunk(out, "IHDR", ihdr(width, height, bitDepth, colorType));
        if (plte != null) {
            chunk(out, "PLTE", plte);
        }
        if (trns != null) {
            chunk(out, "tRNS", trns);
        }
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        for (byte[] line : scanlines) {
            raw.write(0);
            raw.writeBytes(line);
        }
        chunk(out, "IDAT", deflate(raw.toByteArray()));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    /** A valid PNG header announcing {@code width x height} RGB, with a tiny IDAT (one empty row). */
    static byte[] pngBomb(int width, int height) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(PNG_SIGNATURE);
        chunk(out, "IHDR", ihdr(width, height, 8, 2));
        chunk(out, "IDAT", deflate(new byte[] {0, 0, 0, 0}));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    // ------------------------------------------------------------------ GIF

    /**
     * A GIF with one frame of 8-bit indices, placed at (left, top) on a logical screen, with a global palette of
     * 256 entries. LZW data is written "uncompressed" (a literal code per pixel, a clear code every 254 codes, so
     * the code width stays 9 bits).
     */
    static byte[] gif(int screenW, int screenH, int left, int top, int w, int h, byte[] indices, byte[] palette768,
            int transparentIndex) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("GIF89a".getBytes(StandardCharsets.US_ASCII));
        le16(out, screenW);
        le16(out, screenH);
        out.write(0xF7); // global colour table, 8 bits colour resolution, 256 entries
        out.write(0); // background index
        out.write(0); // aspect
        out.writeBytes(palette768);
        if (transparentIndex >= 0) {
            out.write(0x21);
            out.write(0xF9);
            out.write(4);
            out.write(1); // transparent flag
            le16(out, 0);
            out.write(transparentIndex);
            out.write(0);
        }
        out.write(0x2C);
        le16(out, left);
        le16(out, top);
        le16(out, w);
        le16(out, h);
        out.write(0); // no local table, not interlaced
        out.write(8); // LZW minimum code size
        byte[] lzw = lzwLiteral(indices);
        for (int i = 0; i < lzw.length; i += 255) {
            int n = Math.min(255, lzw.length - i);
            out.write(n);
            out.write(lzw, i, n);
        }
        out.write(0);
        out.write(0x3B);
        return out.toByteArray();
    }

    private static byte[] lzwLiteral(byte[] indices) {
        final int clear = 256;
        final int end = 257;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long acc = 0;
        int bits = 0;
        int sinceClear = 0;
        int[] codes = new int[indices.length * 2 + 4];
        int n = 0;
        codes[n++] = clear;
        for (byte b : indices) {
            if (sinceClear == 254) {
                codes[n++] = clear;
                sinceClear = 0;
            }
            codes[n++] = b & 0xFF;
            sinceClear++;
        }
        codes[n++] = end;
        for (int i = 0; i < n; i++) {
            acc |= ((long) codes[i]) << bits;
            bits += 9;
            while (bits >= 8) {
                out.write((int) (acc & 0xFF));
                acc >>>= 8;
                bits -= 8;
            }
        }
        if (bits > 0) {
            out.write((int) (acc & 0xFF));
        }
        return out.toByteArray();
    }

    private static void le16(ByteArrayOutputStream out, int v) {
        out.write(v & 0xFF);
        out.write((v >>> 8) & 0xFF);
    }

    // ------------------------------------------------------------------ BMP

    /** A 24-bit BMP header announcing {@code width x height}, followed by only a few bytes of pixel data. */
    static byte[] bmpBomb(int width, int height) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('B');
        out.write('M');
        le32(out, 54 + 16);
        le32(out, 0);
        le32(out, 54);
        le32(out, 40);
        le32(out, width);
        le32(out, height);
        le16(out, 1);
        le16(out, 24);
        le32(out, 0);
        le32(out, 0);
        le32(out, 2835);
        le32(out, 2835);
        le32(out, 0);
        le32(out, 0);
        out.writeBytes(new byte[16]);
        return out.toByteArray();
    }

    /** A one-row 16-bit BMP: BI_RGB (5-5-5) or BI_BITFIELDS with 5-6-5 masks. */
    static byte[] bmp16(int[] pixels, boolean bitfields565) {
        int w = pixels.length;
        int stride = (w * 2 + 3) & ~3;
        int headerSize = 14 + 40 + (bitfields565 ? 12 : 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('B');
        out.write('M');
        le32(out, headerSize + stride);
        le32(out, 0);
        le32(out, headerSize);
        le32(out, 40);
        le32(out, w);
        le32(out, 1);
        le16(out, 1);
        le16(out, 16);
        le32(out, bitfields565 ? 3 : 0);
        le32(out, stride);
        le32(out, 2835);
        le32(out, 2835);
        le32(out, 0);
        le32(out, 0);
        if (bitfields565) {
            le32(out, 0xF800);
            le32(out, 0x07E0);
            le32(out, 0x001F);
        }
        for (int p : pixels) {
            le16(out, p);
        }
        for (int i = w * 2; i < stride; i++) {
            out.write(0);
        }
        return out.toByteArray();
    }

    private static void le32(ByteArrayOutputStream out, int v) {
        le16(out, v & 0xFFFF);
        le16(out, v >>> 16);
    }
}
