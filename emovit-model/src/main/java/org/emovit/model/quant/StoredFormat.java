package org.emovit.model.quant;

import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Tensors;

/**
 * How one Linear weight is stored in a checkpoint, and the one place that says which tensors that takes: the
 * converter writes {@link #parts}, the writer keeps {@link #isSibling siblings} in their own dtype, and a checkpoint
 * is {@link Quantization#storedIn recognised} as quantised by them. A new format is a constant here (and in
 * {@link Quantization}).
 */
public enum StoredFormat {
    /** In the model's dtype, as every other tensor. */
    DENSE,
    /** int8 per output channel: {@code <name>.weight} I8 [N, K] and {@code <name>.weight_scale} F32 [N] ({@link Int8Format}). */
    INT8,
    /** 4-bit groups: {@code <name>.weight} U8 and {@code <name>.weight_group_scales} ({@link Int4Format#WRITTEN}). */
    INT4;

    /**
     * One tensor of a stored weight, made when the writer reaches it: the writer frees what a part makes once it is
     * written and orders parts by alignment and name, so each part quantises the weight itself rather than expecting
     * its sibling to hand it the result.
     *
     * @param floating whether it is floating point (converted to the target dtype unless a {@link #isSibling sibling})
     */
    public record Part(String key, long[] shape, ScalarType type, boolean floating, Supplier<Tensor> data) {}

    /**
     * The tensors that store {@code weight} (a Linear's [out, in]) under {@code key} in this format; empty where it is
     * stored as it is (dense, already int8, or widths 4 bits cannot take).
     *
     * @param from where the weight comes from, for the error that invalid scales raise
     */
    public List<Part> parts(String key, Tensor weight, String from) {
        switch (this) {
            case INT8 -> {
                if (weight.scalar_type().intern() == ScalarType.Char) {
                    return List.of();
                }
                long[] shape = Tensors.shape(weight);
                String scaleKey = Int8Format.scaleKeyOf(key);
                return List.of(
                        new Part(key, shape, ScalarType.Char, false, () -> Int8Weight.quantize(weight).values()),
                        new Part(scaleKey, new long[] {shape[0]}, ScalarType.Float, true, () -> validScales(scaleKey, weight, from)));
            }
            case INT4 -> {
                if (!weight.is_floating_point() || weight.dim() != 2 || !Int4Format.accepts(weight.size(0), weight.size(1))) {
                    return List.of();
                }
                long out = weight.size(0), in = weight.size(1);
                Int4Format.Scheme scheme = Int4Format.WRITTEN;
                Int4Parts rounded = new Int4Parts(weight);   // one rounding for both parts: the fit is most of convert's time
                return List.of(
                        new Part(key, Int4Format.valuesShape(out, in), ScalarType.Byte, false, () -> rounded.take(true)),
                        new Part(scheme.params.of(key), scheme.paramsShape(out, in), Int4Format.PARAMS_TYPE, true, () -> rounded.take(false)));
            }
            default -> {
                return List.of();
            }
        }
    }

    /**
     * The two stored parts of one weight's 4-bit rounding, computed once: the part read first comes back in its reader's
     * scope and the other is kept (owned) until it is read, then handed to that reader's scope. The writer reads each
     * part once, in a scope of its own.
     */
    private static final class Int4Parts {
        private final Tensor weight;
        private Tensor kept;

        Int4Parts(Tensor weight) {
            this.weight = weight;
        }

        synchronized Tensor take(boolean values) {
            if (kept != null) {
                Tensor t = kept;
                kept = null;
                return org.emovit.model.Owned.handBack(t);
            }
            Int4Weight.Stored s = Int4Weight.quantize(weight);
            kept = org.emovit.model.Owned.own(values ? s.params() : s.values());
            return values ? s.values() : s.params();
        }
    }

    /** The scales the int8 values of {@code weight} are written with, refused if the weight has NaN or infinite values. */
    private static Tensor validScales(String scaleKey, Tensor weight, String from) {
        Tensor scales = Int8Weight.scalesOf(weight);
        Int8Format.requireValidScales(scales, scaleKey, Int8Format.quantisedFrom(from));
        return scales;
    }

    /** Whether a key names the parameters beside a quantised weight (int8's scales, int4's group scales (and zeros)). */
    public static boolean isSibling(String key) {
        return Int8Format.isScaleKey(key) || Int4Format.Scheme.ofParamsKey(key) != null;
    }
}
