package org.emovit.image;

import java.io.EOFException;
import java.io.IOException;
import javax.imageio.stream.ImageInputStream;

/**
 * The few facts of a JPEG header that decide how its samples become RGB, read the way libjpeg's
 * {@code jpeg_read_header} sees them: the frame (precision, components and their ids) and whether JFIF (APP0)
 * and Adobe (APP14) markers precede the first scan.
 */
final class JpegHeader {

    int sofMarker = -1;
    int precision;
    int width;
    int height;
    int[] componentIds = new int[0];
    boolean sawJfif;
    boolean sawAdobe;
    int adobeTransform;

    /** libjpeg's colour spaces, as far as the decoder cares. */
    enum ColorSpace { GRAYSCALE, YCBCR, RGB, CMYK, YCCK }

    /** Reads markers from the current stream position (which must be the SOI) up to the first SOS. */
    static JpegHeader read(ImageInputStream in) throws IOException {
        JpegHeader h = new JpegHeader();
        if (in.readUnsignedByte() != 0xFF || in.readUnsignedByte() != 0xD8) {
            throw new IOException("no JPEG SOI marker");
        }
        while (true) {
            int b = in.readUnsignedByte();
            if (b != 0xFF) {
                continue; // junk between segments, skipped like libjpeg's next_marker (with a warning there)
            }
            int marker;
            do {
                marker = in.readUnsignedByte();
            } while (marker == 0xFF);
            if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                continue; // stuffed byte, TEM or RSTn: no length
            }
            if (marker == 0xD8) {
                continue;
            }
            if (marker == 0xD9) {
                throw new EOFException("EOI before the first scan");
            }
            int length = in.readUnsignedShort();
            if (length < 2) {
                throw new IOException("bad JPEG segment length " + length + " for marker 0x" + Integer.toHexString(marker));
            }
            int payload = length - 2;
            if (marker == 0xDA) {
                return h;
            }
            boolean isSof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (isSof) {
                byte[] s = readPayload(in, payload);
                if (s.length < 6) {
                    throw new IOException("short SOF segment");
                }
                h.sofMarker = marker;
                h.precision = s[0] & 0xFF;
                h.height = ((s[1] & 0xFF) << 8) | (s[2] & 0xFF);
                h.width = ((s[3] & 0xFF) << 8) | (s[4] & 0xFF);
                int n = s[5] & 0xFF;
                if (s.length < 6 + 3 * n) {
                    throw new IOException("short SOF segment");
                }
                h.componentIds = new int[n];
                for (int i = 0; i < n; i++) {
                    h.componentIds[i] = s[6 + 3 * i] & 0xFF;
                }
            } else if (marker == 0xE0 && payload >= 14) {
                byte[] s = readPayload(in, payload);
                // libjpeg: "JFIF\0" with at least 14 bytes of APP0 data
                if (s[0] == 'J' && s[1] == 'F' && s[2] == 'I' && s[3] == 'F' && s[4] == 0) {
                    h.sawJfif = true;
                }
            } else if (marker == 0xEE && payload >= 12) {
                byte[] s = readPayload(in, payload);
                // libjpeg: "Adobe" with at least 12 bytes of APP14 data, the transform in the 12th
                if (s[0] == 'A' && s[1] == 'd' && s[2] == 'o' && s[3] == 'b' && s[4] == 'e') {
                    h.sawAdobe = true;
                    h.adobeTransform = s[11] & 0xFF;
                }
            } else {
                skip(in, payload);
            }
        }
    }

    private static byte[] readPayload(ImageInputStream in, int n) throws IOException {
        byte[] s = new byte[n];
        in.readFully(s);
        return s;
    }

    private static void skip(ImageInputStream in, int n) throws IOException {
        long target = in.getStreamPosition() + n;
        long length = in.length();
        if (length >= 0 && target > length) {
            throw new EOFException("JPEG segment runs past the end of the file");
        }
        in.seek(target);
    }

    boolean isProgressive() {
        return sofMarker == 0xC2 || sofMarker == 0xC6 || sofMarker == 0xCA || sofMarker == 0xCE;
    }

    /** libjpeg's {@code default_decompress_parms}: the colour space of the coded samples. */
    ColorSpace colorSpace() {
        switch (componentIds.length) {
            case 1:
                return ColorSpace.GRAYSCALE;
            case 3:
                if (sawJfif) {
                    return ColorSpace.YCBCR;
                }
                if (sawAdobe) {
                    return adobeTransform == 0 ? ColorSpace.RGB : ColorSpace.YCBCR;
                }
                if (componentIds[0] == 'R' && componentIds[1] == 'G' && componentIds[2] == 'B') {
                    return ColorSpace.RGB;
                }
                return ColorSpace.YCBCR;
            case 4:
                if (sawAdobe) {
                    return adobeTransform == 0 ? ColorSpace.CMYK : ColorSpace.YCCK;
                }
                return ColorSpace.CMYK;
            default:
                return null;
        }
    }
}
