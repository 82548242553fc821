package org.emovit.model;

import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The floating-point type a model's weights are held in: the one mapping between the names users give
 * ({@code --dtype}, a Spark job's options), libtorch's {@link ScalarType}, and the names printed, recorded in a
 * results file's provenance and written into a converted model's config.json.
 */
public enum Precision {
    F32("f32", "float32", ScalarType.Float, 4, List.of("f32", "fp32", "float32")),
    BF16("bf16", "bfloat16", ScalarType.BFloat16, 2, List.of("bf16", "bfloat16"));

    private final String shortName;
    private final String torchName;
    private final ScalarType scalarType;
    private final int bytes;
    private final List<String> names;

    Precision(String shortName, String torchName, ScalarType scalarType, int bytes, List<String> names) {
        this.shortName = shortName;
        this.torchName = torchName;
        this.scalarType = scalarType;
        this.bytes = bytes;
        this.names = names;
    }

    /** {@code --dtype}: f32 (also fp32, float32, and when null) or bf16 (also bfloat16), in any case. */
    public static Precision parse(String dtype) {
        if (dtype == null) {
            return F32;
        }
        String d = dtype.toLowerCase(Locale.ROOT);
        for (Precision p : values()) {
            if (p.names.contains(d)) {
                return p;
            }
        }
        throw new IllegalArgumentException("--dtype must be f32, bf16 or auto, not '" + dtype + "'");
    }

    /** The precision of a libtorch type; the model holds no other floating-point weights. */
    public static Precision of(ScalarType type) {
        for (Precision p : values()) {
            if (p.scalarType == type) {
                return p;
            }
        }
        throw new IllegalArgumentException("no precision for " + type + ": the model runs in f32 or bf16");
    }

    public ScalarType scalarType() {
        return scalarType;
    }

    /** PyTorch's name, as in a Hugging Face config.json's torch_dtype: float32 or bfloat16. */
    public String torchName() {
        return torchName;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The name printed and recorded: f32 or bf16. */
    @Override
    public String toString() {
        return shortName;
    }
}
