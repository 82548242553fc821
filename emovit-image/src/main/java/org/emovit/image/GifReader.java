package org.emovit.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import org.w3c.dom.Node;

/**
 * GIF as PIL opens it: only the first frame of an animation, placed on a canvas of the logical screen size
 * that is filled with the transparent index (or index 0). ImageIO gives the bare frame, so the canvas is
 * built here.
 */
final class GifReader {

    private GifReader() {
    }

    static RgbImage read(ImageReader reader, String name, long maxPixels) throws IOException {
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
        PixelLimit.checkSize(name, w, h, maxPixels);
        BufferedImage frame = reader.read(0);
        if (w == fw && h == fh && left == 0 && top == 0) {
            return ColourConversion.toRgb(frame, false, -1);
        }
        RgbImage pixels = ColourConversion.toRgb(frame, false, -1);
        byte[] out = new byte[w * h * 3];
        // background: the transparent index if the frame has one, else index 0 (PIL's new image is zeros)
        int fill = transparent >= 0 ? transparent : 0;
        int[] bg = ColourConversion.paletteColour(frame.getColorModel(), fill, -1);
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
}
