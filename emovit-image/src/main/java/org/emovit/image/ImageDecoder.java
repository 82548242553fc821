package org.emovit.image;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;

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
 *
 * <p>This class only orders the steps; each step is its own class: {@link ImageFormat} (signatures, refused
 * formats, reader lookup), {@link PixelLimit}, the per-format readers ({@link JpegReader}, {@link PngReader},
 * {@link GifReader}; other formats go straight to {@link ColourConversion}) and {@link DecodeFailures}.
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

    private static RgbImage decode(ImageInputStream in, String name, long maxPixels) throws IOException {
        byte[] magic = new byte[16];
        int n = ImageFormat.readUpTo(in, magic);
        in.seek(0);
        if (n == 0) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.NOT_AN_IMAGE, "empty file");
        }
        ImageFormat format = ImageFormat.sniff(magic, n);
        if (format == null) {
            String other = ImageFormat.knownUnsupported(magic, n);
            if (other != null) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT, other);
            }
            throw new ImageDecodeException(name, ImageDecodeException.Reason.NOT_AN_IMAGE,
                    "unrecognised file signature " + ImageFormat.hex(magic, Math.min(n, 8)));
        }

        // the JPEG frame header is checked here, before ImageIO's reader, which would accept what PIL refuses
        JpegHeader jpeg = format == ImageFormat.JPEG ? JpegReader.checkHeader(in, name, maxPixels) : null;

        // looked at now, while the stream can still seek back: used to name a decoding failure
        boolean endsEarly = ImageFormat.endsEarly(format, in);
        in.seek(0);
        ImageReader reader = ImageFormat.readerFor(format, in);
        if (reader == null) {
            throw new ImageDecodeException(name, ImageDecodeException.Reason.UNSUPPORTED_FORMAT,
                    "no decoder for " + format);
        }
        List<String> warnings = new ArrayList<>();
        try {
            reader.setInput(in, false, format == ImageFormat.JPEG);
            reader.addIIOReadWarningListener((source, message) -> warnings.add(message));
            int width;
            int height;
            try {
                width = reader.getWidth(0);
                height = reader.getHeight(0);
            } catch (IOException | RuntimeException e) {
                throw DecodeFailures.failure(name, format + " header", e);
            }
            PixelLimit.checkSize(name, width, height, maxPixels);
            RgbImage out;
            try {
                out = switch (format) {
                    case JPEG -> JpegReader.read(reader, jpeg);
                    case PNG -> PngReader.read(reader);
                    case GIF -> GifReader.read(reader, name, maxPixels);
                    // BMP, WebP, TIFF: ImageIO's image as it comes, converted like the others
                    default -> ColourConversion.toRgb(reader.read(0), false, -1);
                };
            } catch (ImageDecodeException e) {
                throw e;
            } catch (OutOfMemoryError e) {
                throw new ImageDecodeException(name, ImageDecodeException.Reason.OUT_OF_MEMORY,
                        width + " x " + height + " pixels", e);
            } catch (IOException | RuntimeException e) {
                if (DecodeFailures.causedByOutOfMemory(e)) {   // ImageIO wraps the error its reader ran into
                    throw new ImageDecodeException(name, ImageDecodeException.Reason.OUT_OF_MEMORY,
                            width + " x " + height + " pixels", e);
                }
                ImageDecodeException failure = DecodeFailures.failure(name, format + " data", e);
                if (failure.reason() != ImageDecodeException.Reason.TRUNCATED && endsEarly) {
                    failure = new ImageDecodeException(name, ImageDecodeException.Reason.TRUNCATED,
                            format + " data ends early; the decoder said: " + e.getMessage(), e);
                }
                throw failure;
            }
            for (String w : warnings) {
                if (DecodeFailures.isEndOfDataWarning(w)) {
                    // the reader padded the missing data (libjpeg inserts a fake EOI): PIL raises instead
                    throw new ImageDecodeException(name, ImageDecodeException.Reason.TRUNCATED, w);
                }
            }
            return out;
        } finally {
            reader.dispose();
        }
    }
}
