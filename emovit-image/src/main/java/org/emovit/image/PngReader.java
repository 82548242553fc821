package org.emovit.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import org.w3c.dom.Node;

/**
 * PNG: the pixels from ImageIO, plus the two facts from the header that PIL's conversion depends on and the
 * colour model hides (16-bit grey, which PIL clips; the real palette length, past which PIL uses its grey ramp).
 */
final class PngReader {

    private PngReader() {
    }

    static RgbImage read(ImageReader reader) throws IOException {
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
        return ColourConversion.toRgb(img, clip16, paletteEntries);
    }
}
