package org.emovit.image;

import java.nio.file.Path;

/**
 * LAVIS's {@code blip_image_eval} processor, the image side of InstructBLIP:
 * {@code Resize((size, size), BICUBIC)} (PIL's resize, see {@link PilResize}), {@code ToTensor()} and
 * {@code Normalize(MEAN, STD)}, computed in float32 in the same order as torchvision
 * ({@code x.float().div(255)}, then {@code sub_(mean).div_(std)}), so the result matches bit for bit when the
 * resized pixels do.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class EvalTransform {

    /** OpenAI CLIP's mean, used by LAVIS's BLIP processors. */
    public static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    /** OpenAI CLIP's standard deviation, used by LAVIS's BLIP processors. */
    public static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private final int size;
    /** value of each 0..255 level in each channel, so that apply() is a table lookup. */
    private final float[][] table = new float[3][256];

    /** @param size the square side: 224 for InstructBLIP, 28 for the tiny test model */
    public EvalTransform(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive, got " + size);
        }
        this.size = size;
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                table[c][v] = normalize(v, c);
            }
        }
    }

    /** The normalised value of 8-bit level {@code v} in channel {@code c}: {@code (v / 255f - MEAN[c]) / STD[c]}. */
    public static float normalize(int v, int c) {
        float x = (float) v / 255f;
        return (x - MEAN[c]) / STD[c];
    }

    public int size() {
        return size;
    }

    /** The resize step alone: the {@code size x size} image the model sees, before normalisation. */
    public RgbImage resize(RgbImage img) {
        return PilResize.bicubic(img, size, size);
    }

    /** {@code 3 * size * size} floats, CHW, normalised. */
    public float[] apply(RgbImage img) {
        return toTensor(resize(img));
    }

    /** Decodes the file as PIL's {@code Image.open(f).convert("RGB")} would and applies the transform. */
    public float[] apply(Path file) {
        return apply(ImageDecoder.decode(file));
    }

    /** ToTensor + Normalize of an image that already has the target size. */
    public float[] toTensor(RgbImage resized) {
        if (resized.width() != size || resized.height() != size) {
            throw new IllegalArgumentException("expected a " + size + "x" + size + " image, got "
                    + resized.width() + "x" + resized.height());
        }
        int plane = size * size;
        float[] out = new float[3 * plane];
        byte[] rgb = resized.rgb();
        float[] t0 = table[0];
        float[] t1 = table[1];
        float[] t2 = table[2];
        for (int i = 0, p = 0; i < plane; i++, p += 3) {
            out[i] = t0[rgb[p] & 0xFF];
            out[plane + i] = t1[rgb[p + 1] & 0xFF];
            out[2 * plane + i] = t2[rgb[p + 2] & 0xFF];
        }
        return out;
    }
}
