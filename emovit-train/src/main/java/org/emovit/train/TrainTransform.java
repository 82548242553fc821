package org.emovit.train;

import java.util.Random;
import org.emovit.image.EvalTransform;
import org.emovit.image.PilResize;
import org.emovit.image.RgbImage;

/**
 * LAVIS's blip2_image_train transform: torchvision RandomResizedCrop(size, scale=(0.5, 1.0), bicubic) with the
 * default aspect ratios (3/4 to 4/3, 10 tries, then a centre crop), RandomHorizontalFlip, ToTensor, Normalize.
 * Random choices come from the caller's seeded Random, so a run is repeatable.
 */
public final class TrainTransform {
    private final int size;
    private final EvalTransform normalize;

    public TrainTransform(int size) {
        this.size = size;
        this.normalize = new EvalTransform(size);
    }

    public float[] apply(RgbImage img, Random random) {
        int[] box = cropBox(img.width(), img.height(), random);
        RgbImage crop = crop(img, box[0], box[1], box[2], box[3]);
        RgbImage resized = PilResize.bicubic(crop, size, size);
        if (random.nextDouble() < 0.5) {
            resized = flip(resized);
        }
        return normalize.toTensor(resized);
    }

    /** x, y, w, h as torchvision's RandomResizedCrop.get_params chooses them. */
    static int[] cropBox(int width, int height, Random random) {
        double area = (double) width * height;
        double logLow = Math.log(3.0 / 4), logHigh = Math.log(4.0 / 3);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (0.5 + random.nextDouble() * 0.5);
            double ratio = Math.exp(logLow + random.nextDouble() * (logHigh - logLow));
            int w = (int) Math.round(Math.sqrt(target * ratio));
            int h = (int) Math.round(Math.sqrt(target / ratio));
            if (w > 0 && w <= width && h > 0 && h <= height) {
                int y = random.nextInt(height - h + 1);
                int x = random.nextInt(width - w + 1);
                return new int[] {x, y, w, h};
            }
        }
        double inRatio = (double) width / height;
        int w, h;
        if (inRatio < 3.0 / 4) {
            w = width;
            h = (int) Math.round(w / (3.0 / 4));
        } else if (inRatio > 4.0 / 3) {
            h = height;
            w = (int) Math.round(h * (4.0 / 3));
        } else {
            w = width;
            h = height;
        }
        return new int[] {(width - w) / 2, (height - h) / 2, w, h};
    }

    static RgbImage crop(RgbImage img, int x, int y, int w, int h) {
        byte[] out = new byte[w * h * 3];
        for (int row = 0; row < h; row++) {
            System.arraycopy(img.rgb(), ((y + row) * img.width() + x) * 3, out, row * w * 3, w * 3);
        }
        return new RgbImage(w, h, out);
    }

    static RgbImage flip(RgbImage img) {
        byte[] out = new byte[img.rgb().length];
        int w = img.width();
        for (int row = 0; row < img.height(); row++) {
            for (int x = 0; x < w; x++) {
                System.arraycopy(img.rgb(), (row * w + x) * 3, out, (row * w + (w - 1 - x)) * 3, 3);
            }
        }
        return new RgbImage(w, img.height(), out);
    }
}
