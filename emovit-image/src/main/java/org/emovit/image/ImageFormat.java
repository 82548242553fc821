package org.emovit.image;

import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * The image formats the decoder reads, told apart by their signature (never by the file name, which users get
 * wrong), and the formats it recognises only to refuse by name. Also the two questions asked of a stream before
 * decoding: which ImageIO reader takes it, and does the file look cut short.
 */
enum ImageFormat {
    JPEG, PNG, GIF, BMP, WEBP, TIFF;

    /**
     * Does the file look cut short (PNG chunk past the end or no IEND, GIF without trailer, JPEG without EOI)?
     * Only used to name a decoding failure "truncated" rather than "corrupt".
     */
    static boolean endsEarly(ImageFormat format, ImageInputStream in) {
        try {
            long length = in.length();
            if (length < 0) {
                return false;
            }
            switch (format) {
                case PNG: {
                    long pos = 8;
                    while (pos + 8 <= length) {
                        in.seek(pos);
                        long chunkLength = in.readUnsignedInt();
                        int type = in.readInt();
                        long next = pos + 12 + chunkLength;
                        if (type == 0x49454E44) { // IEND
                            return false;
                        }
                        if (next > length) {
                            return true;
                        }
                        pos = next;
                    }
                    return true;
                }
                case GIF: {
                    in.seek(length - 1);
                    return in.readUnsignedByte() != 0x3B;
                }
                case JPEG: {
                    in.seek(length - 2);
                    return in.readUnsignedByte() != 0xFF || in.readUnsignedByte() != 0xD9;
                }
                default:
                    return false;
            }
        } catch (IOException e) {
            return false;
        }
    }

    static int readUpTo(ImageInputStream in, byte[] buf) throws IOException {
        int total = 0;
        while (total < buf.length) {
            int r = in.read(buf, total, buf.length - total);
            if (r < 0) {
                break;
            }
            total += r;
        }
        return total;
    }

    private static boolean startsWith(byte[] b, int n, int... sig) {
        if (n < sig.length) {
            return false;
        }
        for (int i = 0; i < sig.length; i++) {
            if ((b[i] & 0xFF) != sig[i]) {
                return false;
            }
        }
        return true;
    }

    static ImageFormat sniff(byte[] b, int n) {
        if (startsWith(b, n, 0xFF, 0xD8, 0xFF)) {
            return ImageFormat.JPEG;
        }
        if (startsWith(b, n, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            return ImageFormat.PNG;
        }
        if (startsWith(b, n, 'G', 'I', 'F', '8', '7', 'a') || startsWith(b, n, 'G', 'I', 'F', '8', '9', 'a')) {
            return ImageFormat.GIF;
        }
        if (startsWith(b, n, 'B', 'M')) {
            return ImageFormat.BMP;
        }
        if (startsWith(b, n, 'R', 'I', 'F', 'F') && n >= 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') {
            return ImageFormat.WEBP;
        }
        if (startsWith(b, n, 'I', 'I', 42, 0) || startsWith(b, n, 'M', 'M', 0, 42)) {
            return ImageFormat.TIFF;
        }
        return null;
    }

    static String knownUnsupported(byte[] b, int n) {
        if (startsWith(b, n, '8', 'B', 'P', 'S')) {
            return "Photoshop PSD";
        }
        if (n >= 12 && b[4] == 'f' && b[5] == 't' && b[6] == 'y' && b[7] == 'p') {
            return "ISO media (HEIF/AVIF) image";
        }
        if (startsWith(b, n, 0x00, 0x00, 0x00, 0x0C, 'j', 'P') || startsWith(b, n, 0xFF, 0x4F, 0xFF, 0x51)) {
            return "JPEG 2000";
        }
        if (startsWith(b, n, 0x00, 0x00, 0x01, 0x00) || startsWith(b, n, 0x00, 0x00, 0x02, 0x00)) {
            return "ICO/CUR";
        }
        if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && n >= 3 && Character.isWhitespace(b[2])) {
            return "PNM";
        }
        if (startsWith(b, n, 'I', 'I', 43, 0) || startsWith(b, n, 'M', 'M', 0, 43)) {
            return "BigTIFF";
        }
        return null;
    }

    static String hex(byte[] b, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(String.format("%02x", b[i] & 0xFF));
        }
        return sb.toString();
    }

    static ImageReader readerFor(ImageFormat format, ImageInputStream in) throws IOException {
        String formatName = switch (format) {
            case JPEG -> "jpeg";
            case PNG -> "png";
            case GIF -> "gif";
            case BMP -> "bmp";
            case WEBP -> "webp";
            case TIFF -> "tiff";
        };
        Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(formatName);
        ImageReader first = null;
        while (it.hasNext()) {
            ImageReader r = it.next();
            try {
                in.mark();
                boolean ok = r.getOriginatingProvider() == null || r.getOriginatingProvider().canDecodeInput(in);
                in.reset();
                if (ok) {
                    if (first != null) {
                        r.dispose();
                        continue;
                    }
                    first = r;
                } else {
                    r.dispose();
                }
            } catch (IOException e) {
                in.seek(0);
                r.dispose();
            }
        }
        in.seek(0);
        return first;
    }
}
