package org.emovit.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.Node;

/**
 * Decodes an image file to 8-bit RGB as PIL's {@code Image.open(f).convert("RGB")} does.
 *
 * <ul>
 *   <li>No EXIF rotation, no ICC profile or gamma applied (PIL applies neither).</li>
 *   <li>Alpha is dropped without compositing (RGBA, LA, palette transparency).</li>
 *   <li>Grey becomes R = G = B; palette images take their palette colours (indices past the palette get PIL's
 *       default grey ramp, i.e. (i, i, i)).</li>
 *   <li>JPEG: the raw samples are read (libjpeg's islow IDCT and fancy upsampling, in the JDK) and converted as
 *       libjpeg does ({@code ycc_rgb_convert}, {@code ycck_cmyk_convert}); CMYK is read with Adobe's inverted
 *       polarity and converted with PIL's {@code cmyk2rgb} ({@code R = (255 - K) - C(255 - K)/255}, on PIL's
 *       inverted values). A JPEG that ends early is an error, as in PIL (which raises unless
 *       {@code LOAD_TRUNCATED_IMAGES}); 12-bit JPEGs are unsupported, as in PIL.</li>
 *   <li>16-bit PNG: colour keeps the high byte (PIL's {@code RGB;16B}); 16-bit grey is clipped to 255 as PIL's
 *       {@code I;16 -> RGB} does.</li>
 *   <li>GIF: the first frame, on a canvas of the logical screen size filled with the transparent index (or
 *       index 0), as PIL does.</li>
 *   <li>Size: {@code width * height} from the header is checked against the limit before any pixel is
 *       decoded.</li>
 * </ul>
 *
 * <p>Formats: JPEG (8-bit, Huffman-coded baseline, extended and progressive; grey, YCbCr, RGB, CMYK, YCCK),
 * PNG, GIF, BMP, WebP and TIFF (the last two through ImageIO plugins, not checked against PIL). Thread-safe:
 * every call uses its own reader.
 */
public final class ImageDecoder {

    /**
     * PIL's {@code Image.MAX_IMAGE_PIXELS} (89,478,485 = 1024 * 1024 * 1024 / 4 / 3), above which PIL warns of a
     * decompression bomb (PIL raises only above twice that; here the limit itself is enforced).
     */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;

    private ImageDecoder() {
    }

    /** Decodes {@code file} with {@link #DEFAULT_MAX_PIXELS}. */
    public static RgbImage decode(Path file) {
        return decode(file, DEFAULT_MAX_PIXELS);
    }

    /** Decodes {@code file}; images with more than {@code maxPixels} pixels are refused from their header. */
    public static RgbImage decode(Path file, long maxPixels) {
        String name = file.toString();
        if (Files.isDirectory(file)) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.MISSING_FILE, "is a directory");
        }
        if (!Files.exists(file)) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.MISSING_FILE, "no such file");
        }
        ImageInputStream in;
        try {
            // TwelveMonkeys registers a buffered, seekable file stream; the JDK's FileImageInputStream otherwise
            in = ImageIO.createImageInputStream(file.toFile());
            if (in == null) {
                in = new FileImageInputStream(file.toFile());
            }
        } catch (FileNotFoundException | NoSuchFileException e) {
            // FileNotFoundException also means "permission denied"
            throw new ImageDecodeException(name, Files.exists(file)
                    ? ImageDecodeException.Reason.IO_ERROR : ImageDecodeException.Reason.MISSING_FILE, e.getMessage(), e);
        } catch (IOException | SecurityException e) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.IO_ERROR, e.getMessage(), e);
        } catch (UnsupportedOperationException e) {
            // not on the default file system: read the bytes instead
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException ex) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.IO_ERROR, ex.getMessage(), ex);
            }
            return decode(bytes, name, maxPixels);
        }
        try (ImageInputStream stream = in) {
            return decode(stream, name, maxPixels);
        } catch (IOException e) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.IO_ERROR, e.getMessage(), e);
        }
    }

    /** Decodes an image held in memory; {@code nameForErrors} names it in exception messages. */
    public static RgbImage decode(byte[] bytes, String nameForErrors, long maxPixels) {
        String name = nameForErrors == null ? "<bytes>" : nameForErrors;
        if (bytes == null) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.MISSING_FILE, "no data");
        }
        try (ImageInputStream stream = new ByteArrayStream(bytes)) {
            return decode(stream, name, maxPixels);
        } catch (IOException e) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.IO_ERROR, e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------------------------------------------

    enum Format { JPEG, PNG, GIF, BMP, WEBP, TIFF }

    private static RgbImage decode(ImageInputStream in, String name, long maxPixels) throws IOException {
        byte[] magic = new byte[16];
        int n = readUpTo(in, magic);
        in.seek(0);
        if (n == 0) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.NOT_AN_IMAGE, "empty file");
        }
        Format format = sniff(magic, n);
        if (format == null) {
            String other = knownUnsupported(magic, n);
            if (other != null) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT, other);
            }
            throw new ImageDecodeException(name, ImageDecodeException.Reason.NOT_AN_IMAGE,
                    "unrecognised file signature " + hex(magic, Math.min(n, 8)));
        }

        JpegHeader jpeg = null;
        if (format == Format.JPEG) {
            try {
                jpeg = JpegHeader.read(in);
            } catch (IOException e) {
                throw failure(name, "JPEG header", e);
            } finally {
                in.seek(0);
            }
            if (jpeg.sofMarker < 0) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.CORRUPT, "JPEG without a frame header");
            }
            if (jpeg.sofMarker != 0xC0 && jpeg.sofMarker != 0xC1 && jpeg.sofMarker != 0xC2) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT, String.format(
                        "JPEG process SOF%d (lossless, hierarchical or arithmetic-coded)", jpeg.sofMarker - 0xC0));
            }
            if (jpeg.precision != 8) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT,
                        jpeg.precision + "-bit JPEG");
            }
            if (jpeg.colorSpace() == null) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT,
                        "JPEG with " + jpeg.componentIds.length + " components");
            }
            checkSize(name, jpeg.width, jpeg.height, maxPixels);
        }

        // looked at now, while the stream can still seek back: used to name a decoding failure
        boolean endsEarly = endsEarly(format, in);
        in.seek(0);
        ImageReader reader = readerFor(format, in);
        if (reader == null) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT,
                    "no decoder for " + format);
        }
        List<String> warnings = new ArrayList<>();
        try {
            reader.setInput(in, false, format == Format.JPEG);
            reader.addIIOReadWarningListener((source, message) -> warnings.add(message));
            int width;
            int height;
            try {
                width = reader.getWidth(0);
                height = reader.getHeight(0);
            } catch (IOException | RuntimeException e) {
                throw failure(name, format + " header", e);
            }
            checkSize(name, width, height, maxPixels);
            RgbImage out;
            try {
                out = switch (format) {
                    case JPEG -> readJpeg(reader, jpeg);
                    case PNG -> readPng(reader);
                    case GIF -> readGif(reader, name, maxPixels);
                    default -> toRgb(reader.read(0), false, -1);
                };
            } catch (ImageDecodeException e) {
                throw e;
            } catch (OutOfMemoryError e) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.OUT_OF_MEMORY,
                        width + " x " + height + " pixels", e);
            } catch (IOException | RuntimeException e) {
                if (causedByOutOfMemory(e)) {   // ImageIO wraps the error its reader ran into
                    throw new ImageDecodeException(name, ImageDecodeException.Reason.OUT_OF_MEMORY,
                            width + " x " + height + " pixels", e);
                }
                ImageDecodeException failure = failure(name, format + " data", e);
                if (failure.reason() != ImageDecodeException.Reason.TRUNCATED && endsEarly) {
                    failure = new ImageDecodeException(name, ImageDecodeException.Reason.TRUNCATED,
                            format + " data ends early; the decoder said: " + e.getMessage(), e);
                }
                throw failure;
            }
            for (String w : warnings) {
                if (isEndOfDataWarning(w)) {
                    // the reader padded the missing data (libjpeg inserts a fake EOI): PIL raises instead
                    throw new ImageDecodeException(name, ImageDecodeException.Reason.TRUNCATED, w);
                }
            }
            return out;
        } finally {
            reader.dispose();
        }
    }

    private static void checkSize(String name, long width, long height, long maxPixels) {
        if (width <= 0 || height <= 0) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.CORRUPT,
                    "invalid size " + width + " x " + height);
        }
        long pixels = width * height;
        if (pixels > maxPixels) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.TOO_LARGE,
                    width + " x " + height + " = " + pixels + " pixels > limit " + maxPixels);
        }
        if (pixels * 3 > Integer.MAX_VALUE - 16) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.TOO_LARGE,
                    width + " x " + height + " = " + pixels + " pixels do not fit one Java array");
        }
    }

    private static ImageDecodeException failure(String name, String what, Throwable e) {
        ImageDecodeException.Reason reason = isTruncation(e)
                ? ImageDecodeException.Reason.TRUNCATED : ImageDecodeException.Reason.CORRUPT;
        String msg = e.getMessage();
        Throwable c = e.getCause();
        if (c != null && c.getMessage() != null && (msg == null || !msg.contains(c.getMessage()))) {
            msg = (msg == null ? "" : msg + ": ") + c.getMessage();
        }
        return new ImageDecodeException(name, reason, what + ": " + (msg == null ? e.getClass().getSimpleName() : msg), e);
    }

    private static boolean causedByOutOfMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError || (t.getMessage() != null && t.getMessage().contains("Java heap space"))) {
                return true;
            }
        }
        return false;
    }

    private static boolean isTruncation(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EOFException) {
                return true;
            }
            if (t.getMessage() != null && isTruncationMessage(t.getMessage())) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /**
     * Reader warnings that mean the data ran out: the JDK's libjpeg source manager inserts a fake EOI at the end
     * of the stream and warns. Other libjpeg warnings ("Corrupt JPEG data: ...") are ignored, as PIL ignores
     * them.
     */
    private static boolean isEndOfDataWarning(String message) {
        String m = message.toLowerCase(Locale.ROOT);
        return m.contains("missing eoi") || m.contains("premature end of jpeg file") || m.contains("truncated");
    }

    /**
     * Does the file look cut short (PNG chunk past the end or no IEND, GIF without trailer, JPEG without EOI)?
     * Only used to name a decoding failure "truncated" rather than "corrupt".
     */
    private static boolean endsEarly(Format format, ImageInputStream in) {
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

    private static boolean isTruncationMessage(String message) {
        String m = message.toLowerCase(Locale.ROOT);
        return m.contains("premature end") || m.contains("truncated") || m.contains("unexpected end")
                || m.contains("end of file") || m.contains("end of stream") || m.matches("(?s).*\\beof\\b.*");
    }

    // ------------------------------------------------------------------------------------------------ sniffing

    private static int readUpTo(ImageInputStream in, byte[] buf) throws IOException {
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

    static Format sniff(byte[] b, int n) {
        if (startsWith(b, n, 0xFF, 0xD8, 0xFF)) {
            return Format.JPEG;
        }
        if (startsWith(b, n, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            return Format.PNG;
        }
        if (startsWith(b, n, 'G', 'I', 'F', '8', '7', 'a') || startsWith(b, n, 'G', 'I', 'F', '8', '9', 'a')) {
            return Format.GIF;
        }
        if (startsWith(b, n, 'B', 'M')) {
            return Format.BMP;
        }
        if (startsWith(b, n, 'R', 'I', 'F', 'F') && n >= 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') {
            return Format.WEBP;
        }
        if (startsWith(b, n, 'I', 'I', 42, 0) || startsWith(b, n, 'M', 'M', 0, 42)) {
            return Format.TIFF;
        }
        return null;
    }

    private static String knownUnsupported(byte[] b, int n) {
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

    private static String hex(byte[] b, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(String.format("%02x", b[i] & 0xFF));
        }
        return sb.toString();
    }

    private static ImageReader readerFor(Format format, ImageInputStream in) throws IOException {
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

    // ------------------------------------------------------------------------------------------------ JPEG

    private static RgbImage readJpeg(ImageReader reader, JpegHeader h) throws IOException {
        Raster r = reader.readRaster(0, null);
        int w = r.getWidth();
        int ht = r.getHeight();
        int bands = r.getNumBands();
        JpegHeader.ColorSpace cs = h.colorSpace();
        int expectedBands = h.componentIds.length;
        if (bands != expectedBands) {
            throw new IIOException("decoder returned " + bands + " bands for a " + expectedBands + "-component JPEG");
        }
        byte[] out = new byte[w * ht * 3];
        int[] row = new int[w * bands];
        for (int y = 0; y < ht; y++) {
            r.getPixels(r.getMinX(), r.getMinY() + y, w, 1, row);
            int o = y * w * 3;
            switch (cs) {
                case GRAYSCALE -> {
                    for (int x = 0; x < w; x++, o += 3) {
                        byte v = (byte) row[x];
                        out[o] = v;
                        out[o + 1] = v;
                        out[o + 2] = v;
                    }
                }
                case RGB -> {
                    for (int i = 0; i < w * 3; i++) {
                        out[o + i] = (byte) row[i];
                    }
                }
                case YCBCR -> {
                    for (int x = 0, p = 0; x < w; x++, p += 3, o += 3) {
                        int yy = row[p];
                        int cb = row[p + 1];
                        int cr = row[p + 2];
                        out[o] = (byte) Libjpeg.clamp(yy + Libjpeg.CR_R[cr]);
                        out[o + 1] = (byte) Libjpeg.clamp(yy + ((Libjpeg.CB_G[cb] + Libjpeg.CR_G[cr]) >> Libjpeg.SCALEBITS));
                        out[o + 2] = (byte) Libjpeg.clamp(yy + Libjpeg.CB_B[cb]);
                    }
                }
                case CMYK, YCCK -> {
                    for (int x = 0, p = 0; x < w; x++, p += 4, o += 3) {
                        int c;
                        int m;
                        int yel;
                        int k = row[p + 3];
                        if (cs == JpegHeader.ColorSpace.YCCK) {
                            int yy = row[p];
                            int cb = row[p + 1];
                            int cr = row[p + 2];
                            c = Libjpeg.clamp(255 - (yy + Libjpeg.CR_R[cr]));
                            m = Libjpeg.clamp(255 - (yy + ((Libjpeg.CB_G[cb] + Libjpeg.CR_G[cr]) >> Libjpeg.SCALEBITS)));
                            yel = Libjpeg.clamp(255 - (yy + Libjpeg.CB_B[cb]));
                        } else {
                            c = row[p];
                            m = row[p + 1];
                            yel = row[p + 2];
                        }
                        // PIL reads JPEG CMYK as "CMYK;I" (Adobe polarity): every channel inverted
                        c = 255 - c;
                        m = 255 - m;
                        yel = 255 - yel;
                        k = 255 - k;
                        out[o] = (byte) cmykToRgb(c, k);
                        out[o + 1] = (byte) cmykToRgb(m, k);
                        out[o + 2] = (byte) cmykToRgb(yel, k);
                    }
                }
                default -> throw new IIOException("unexpected JPEG colour space " + cs);
            }
        }
        return new RgbImage(w, ht, out);
    }

    /** PIL's {@code cmyk2rgb} for one channel: {@code CLIP8(nk - MULDIV255(v, nk))}, {@code nk = 255 - k}. */
    static int cmykToRgb(int v, int k) {
        int nk = 255 - k;
        int tmp = v * nk + 128;
        int mul = ((tmp >> 8) + tmp) >> 8;
        int r = nk - mul;
        return r < 0 ? 0 : (r > 255 ? 255 : r);
    }

    /** libjpeg's YCbCr tables ({@code build_ycc_rgb_table} in jdcolor.c). */
    static final class Libjpeg {
        static final int SCALEBITS = 16;
        static final int[] CR_R = new int[256];
        static final int[] CB_B = new int[256];
        static final int[] CR_G = new int[256];
        static final int[] CB_G = new int[256];

        static {
            final long oneHalf = 1L << (SCALEBITS - 1);
            for (int i = 0, x = -128; i < 256; i++, x++) {
                CR_R[i] = (int) ((fix(1.40200) * x + oneHalf) >> SCALEBITS);
                CB_B[i] = (int) ((fix(1.77200) * x + oneHalf) >> SCALEBITS);
                CR_G[i] = (int) (-fix(0.71414) * x);
                CB_G[i] = (int) (-fix(0.34414) * x + oneHalf);
            }
        }

        private static long fix(double v) {
            return (long) (v * (1L << SCALEBITS) + 0.5);
        }

        static int clamp(int v) {
            return v < 0 ? 0 : (v > 255 ? 255 : v);
        }
    }

    // ------------------------------------------------------------------------------------------------ PNG

    private static RgbImage readPng(ImageReader reader) throws IOException {
        int colorType = -1;
        int bitDepth = -1;
        int paletteEntries = -1;
        IIOMetadata meta = reader.getImageMetadata(0);
        if (meta != null) {
            try {
                Node root = meta.getAsTree("javax_imageio_png_1.0");
                for (Node c = root.getFirstChild(); c != null; c = c.getNextSibling()) {
                    if ("IHDR".equals(c.getNodeName())) {
                        IIOMetadataNode ihdr = (IIOMetadataNode) c;
                        bitDepth = Integer.parseInt(ihdr.getAttribute("bitDepth"));
                        String ct = ihdr.getAttribute("colorType");
                        colorType = switch (ct) {
                            case "Grayscale" -> 0;
                            case "RGB" -> 2;
                            case "Palette" -> 3;
                            case "GrayAlpha" -> 4;
                            case "RGBAlpha" -> 6;
                            default -> -1;
                        };
                    } else if ("PLTE".equals(c.getNodeName())) {
                        int count = 0;
                        for (Node e = c.getFirstChild(); e != null; e = e.getNextSibling()) {
                            count++;
                        }
                        paletteEntries = count;
                    }
                }
            } catch (IllegalArgumentException e) {
                // no native metadata: fall back to the colour model alone
            }
        }
        BufferedImage img = reader.read(0);
        // PIL opens 16-bit greyscale PNG as "I;16"; its conversion to RGB clips at 255.
        boolean clip16 = colorType == 0 && bitDepth == 16;
        return toRgb(img, clip16, paletteEntries);
    }

    // ------------------------------------------------------------------------------------------------ GIF

    private static RgbImage readGif(ImageReader reader, String name, long maxPixels) throws IOException {
        int screenW = -1;
        int screenH = -1;
        IIOMetadata stream = reader.getStreamMetadata();
        if (stream != null) {
            try {
                Node root = stream.getAsTree("javax_imageio_gif_stream_1.0");
                IIOMetadataNode lsd = child(root, "LogicalScreenDescriptor");
                if (lsd != null) {
                    screenW = Integer.parseInt(lsd.getAttribute("logicalScreenWidth"));
                    screenH = Integer.parseInt(lsd.getAttribute("logicalScreenHeight"));
                }
            } catch (IllegalArgumentException e) {
                // keep the frame size
            }
        }
        int left = 0;
        int top = 0;
        int transparent = -1;
        IIOMetadata meta = reader.getImageMetadata(0);
        if (meta != null) {
            try {
                Node root = meta.getAsTree("javax_imageio_gif_image_1.0");
                IIOMetadataNode desc = child(root, "ImageDescriptor");
                if (desc != null) {
                    left = Integer.parseInt(desc.getAttribute("imageLeftPosition"));
                    top = Integer.parseInt(desc.getAttribute("imageTopPosition"));
                }
                IIOMetadataNode gce = child(root, "GraphicControlExtension");
                if (gce != null && "TRUE".equalsIgnoreCase(gce.getAttribute("transparentColorFlag"))) {
                    transparent = Integer.parseInt(gce.getAttribute("transparentColorIndex"));
                }
            } catch (IllegalArgumentException e) {
                // no placement information: the frame alone
            }
        }
        int fw = reader.getWidth(0);
        int fh = reader.getHeight(0);
        // PIL: the image has the logical screen size, enlarged to hold the first frame
        int w = Math.max(Math.max(screenW, 0), left + fw);
        int h = Math.max(Math.max(screenH, 0), top + fh);
        checkSize(name, w, h, maxPixels);
        BufferedImage frame = reader.read(0);
        if (w == fw && h == fh && left == 0 && top == 0) {
            return toRgb(frame, false, -1);
        }
        RgbImage pixels = toRgb(frame, false, -1);
        byte[] out = new byte[w * h * 3];
        // background: the transparent index if the frame has one, else index 0 (PIL's new image is zeros)
        int fill = transparent >= 0 ? transparent : 0;
        int[] bg = paletteColour(frame.getColorModel(), fill, -1);
        for (int i = 0; i < w * h; i++) {
            out[i * 3] = (byte) bg[0];
            out[i * 3 + 1] = (byte) bg[1];
            out[i * 3 + 2] = (byte) bg[2];
        }
        for (int y = 0; y < fh; y++) {
            System.arraycopy(pixels.rgb(), y * fw * 3, out, ((top + y) * w + left) * 3, fw * 3);
        }
        return new RgbImage(w, h, out);
    }

    private static IIOMetadataNode child(Node root, String name) {
        for (Node c = root.getFirstChild(); c != null; c = c.getNextSibling()) {
            if (name.equals(c.getNodeName())) {
                return (IIOMetadataNode) c;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------------ generic

    /** The palette colour of {@code index}, PIL style: past the palette, PIL's default ramp (i, i, i). */
    private static int[] paletteColour(ColorModel cm, int index, int paletteEntries) {
        if (cm instanceof IndexColorModel icm) {
            int size = paletteEntries >= 0 ? Math.min(paletteEntries, icm.getMapSize()) : icm.getMapSize();
            if (index >= 0 && index < size) {
                return new int[] {icm.getRed(index), icm.getGreen(index), icm.getBlue(index)};
            }
            int v = index & 0xFF;
            return new int[] {v, v, v};
        }
        return new int[] {0, 0, 0};
    }

    /**
     * The colour samples of a decoded image, without colour management: palette colours for indexed images,
     * band values (high byte of 16-bit samples, {@code v * 255 / (2^bits - 1)} for samples under 8 bits) for grey and RGB, PIL's
     * cmyk2rgb for CMYK; alpha ignored.
     */
    static RgbImage toRgb(BufferedImage img, boolean clip16Grey, int paletteEntries) {
        int w = img.getWidth();
        int h = img.getHeight();
        Raster r = img.getRaster();
        ColorModel cm = img.getColorModel();
        byte[] out = new byte[w * h * 3];
        int minX = r.getMinX();
        int minY = r.getMinY();
        int[] row = new int[w];

        if (cm instanceof IndexColorModel icm) {
            int[] lut = new int[256 * 3];
            int size = paletteEntries >= 0 ? Math.min(paletteEntries, icm.getMapSize()) : icm.getMapSize();
            for (int i = 0; i < 256; i++) {
                if (i < size) {
                    lut[i * 3] = icm.getRed(i);
                    lut[i * 3 + 1] = icm.getGreen(i);
                    lut[i * 3 + 2] = icm.getBlue(i);
                } else {
                    lut[i * 3] = lut[i * 3 + 1] = lut[i * 3 + 2] = i;
                }
            }
            for (int y = 0; y < h; y++) {
                r.getSamples(minX, minY + y, w, 1, 0, row);
                for (int x = 0, o = y * w * 3; x < w; x++, o += 3) {
                    int idx = row[x] & 0xFF;
                    out[o] = (byte) lut[idx * 3];
                    out[o + 1] = (byte) lut[idx * 3 + 1];
                    out[o + 2] = (byte) lut[idx * 3 + 2];
                }
            }
            return new RgbImage(w, h, out);
        }

        int dataType = r.getDataBuffer().getDataType();
        boolean integral = dataType == DataBuffer.TYPE_BYTE || dataType == DataBuffer.TYPE_USHORT
                || dataType == DataBuffer.TYPE_SHORT || dataType == DataBuffer.TYPE_INT;
        int csType = cm.getColorSpace().getType();
        int colours = cm.getNumColorComponents();
        int[] bandsFor;
        boolean cmyk = false;
        if (csType == java.awt.color.ColorSpace.TYPE_GRAY && colours == 1) {
            bandsFor = new int[] {0, 0, 0};
        } else if (csType == java.awt.color.ColorSpace.TYPE_RGB && colours == 3) {
            bandsFor = new int[] {0, 1, 2};
        } else if (csType == java.awt.color.ColorSpace.TYPE_CMYK && colours == 4) {
            bandsFor = new int[] {0, 1, 2, 3};
            cmyk = true;
        } else {
            bandsFor = null;
        }
        if (!integral || bandsFor == null || r.getNumBands() < colours) {
            // anything else (float samples, YCbCr or Lab TIFF...): let Java convert to sRGB
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0, o = y * w * 3; x < w; x++, o += 3) {
                    int argb = row[x];
                    out[o] = (byte) (argb >> 16);
                    out[o + 1] = (byte) (argb >> 8);
                    out[o + 2] = (byte) argb;
                }
            }
            return new RgbImage(w, h, out);
        }

        int channels = bandsFor.length;
        int[][] luts = new int[channels][];
        int[] shifts = new int[channels];
        int[][] rows = new int[channels][w];
        for (int c = 0; c < channels; c++) {
            int bits = r.getSampleModel().getSampleSize(bandsFor[c]);
            if (bits > 16) {
                shifts[c] = bits - 8;
            } else if (bits != 8) {
                int[] lut = new int[1 << bits];
                for (int v = 0; v < lut.length; v++) {
                    lut[v] = to8(v, bits, clip16Grey);
                }
                luts[c] = lut;
            }
        }
        for (int y = 0; y < h; y++) {
            for (int c = 0; c < channels; c++) {
                if (c > 0 && bandsFor[c] == bandsFor[c - 1]) {
                    rows[c] = rows[c - 1];
                    continue;
                }
                int[] rr = rows[c];
                r.getSamples(minX, minY + y, w, 1, bandsFor[c], rr);
                if (luts[c] != null) {
                    int[] lut = luts[c];
                    int mask = lut.length - 1;
                    for (int x = 0; x < w; x++) {
                        rr[x] = lut[rr[x] & mask];
                    }
                } else if (shifts[c] > 0) {
                    int shift = shifts[c];
                    for (int x = 0; x < w; x++) {
                        rr[x] = (rr[x] >>> shift) & 0xFF;
                    }
                }
            }
            int o = y * w * 3;
            if (cmyk) {
                for (int x = 0; x < w; x++, o += 3) {
                    int k = rows[3][x];
                    out[o] = (byte) cmykToRgb(rows[0][x], k);
                    out[o + 1] = (byte) cmykToRgb(rows[1][x], k);
                    out[o + 2] = (byte) cmykToRgb(rows[2][x], k);
                }
            } else {
                for (int x = 0; x < w; x++, o += 3) {
                    out[o] = (byte) rows[0][x];
                    out[o + 1] = (byte) rows[1][x];
                    out[o + 2] = (byte) rows[2][x];
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /** A sample of {@code bits} bits as 8 bits, the way PIL unpacks it. */
    static int to8(int v, int bits, boolean clip) {
        if (bits == 8) {
            return v;
        }
        if (bits > 8) {
            return clip ? Math.min(v, 255) : v >>> (bits - 8);
        }
        // PIL's unpackers: v * 255 / (2^bits - 1), truncated ("1" -> 0/255, "L;2" -> v * 0x55, "L;4" -> v * 0x11,
        // "BGR;15"/"BGR;16" -> v * 255 / 31 and v * 255 / 63)
        return v * 255 / ((1 << bits) - 1);
    }
}
