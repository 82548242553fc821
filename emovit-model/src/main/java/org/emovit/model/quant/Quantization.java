package org.emovit.model.quant;

/**
 * Which Linear weights a model stores quantised, and in which format: {@code emovit convert --quantize} and
 * {@code emovit bench --quantize}. Adding a format adds a constant here and a {@link StoredFormat}.
 */
public enum Quantization {
    /** In the target dtype, as every other tensor. */
    NONE,
    /** Symmetric int8 per output channel with F32 scales (see {@link Int8Format}). */
    INT8,
    /** The LLM's Linears in 4 bits ({@link Int4Format}), the ViT's in int8 as with INT8. */
    INT4;

    public static Quantization parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "none" -> NONE;
            case "int8" -> INT8;
            case "int4" -> INT4;
            default -> throw new IllegalArgumentException("--quantize: int4, int8 or none, not '" + name + "'");
        };
    }

    /** The quantisation a checkpoint with these keys stores, recognised by its weights' siblings ({@link StoredFormat#isSibling}). */
    public static Quantization storedIn(java.util.Collection<String> keys) {
        if (keys.stream().anyMatch(k -> Int4Format.Scheme.ofParamsKey(k) != null)) {
            return INT4;
        }
        return keys.stream().anyMatch(Int8Format::isScaleKey) ? INT8 : NONE;
    }

    /** The quantisation a folder's safetensors store, read from their keys without loading a tensor. */
    public static Quantization storedIn(java.nio.file.Path dir) {
        try (org.emovit.weights.TensorSource files = org.emovit.weights.Safetensors.openDir(dir)) {
            return storedIn(files.keys());
        }
    }

    /** What it stores quantised, as a parenthesis after a model's dtype ("" for NONE). */
    public String note() {
        return switch (this) {
            case NONE -> "";
            case INT8 -> " (the LLM's and the ViT's Linears int8)";
            case INT4 -> " (the LLM's Linears int4, the ViT's int8)";
        };
    }

    /**
     * Whether this parameter is stored int8: with INT8, the LLM's and the ViT's Linear weights; with INT4, the
     * ViT's (its 257-row products are compute-bound, where int8's dense GEMM path is the faster).
     */
    public boolean quantizes(String key) {
        return switch (this) {
            case NONE -> false;
            case INT8 -> QUANTIZED_LINEAR.matcher(key).matches();
            case INT4 -> QUANTIZED_LINEAR.matcher(key).matches() && !quantizesInt4(key);
        };
    }

    /** Whether this parameter is stored in 4 bits where its widths allow ({@link Int4Format#accepts}): INT4's LLM Linears. */
    public boolean quantizesInt4(String key) {
        return this == INT4 && key.startsWith("language_model.") && QUANTIZED_LINEAR.matcher(key).matches();
    }

    /** Which product the LLM's quantised Linears run, as bench reports it ("" for NONE). */
    public String productsLine() {
        return switch (this) {
            case NONE -> "";
            case INT8 -> "int8 LLM products: " + PackedInt8.describe();
            case INT4 -> "int4 LLM products: " + Int4Kernel.describe();
        };
    }

    /** Whether any Linear is stored quantised. */
    public boolean any() {
        return this != NONE;
    }

    /**
     * The format this parameter is stored in: {@link StoredFormat#INT4} where 4 bits are asked for (widths
     * permitting, see {@link StoredFormat#parts}), {@link StoredFormat#INT8}, or {@link StoredFormat#DENSE}.
     */
    public StoredFormat formatOf(String key) {
        return quantizesInt4(key) ? StoredFormat.INT4 : quantizes(key) ? StoredFormat.INT8 : StoredFormat.DENSE;
    }

    /**
     * The Linear weights that {@link Quantization#INT8} stores as int8: the LLM's (its LM head too) and the ViT's
     * blocks'. The ViT's halve its 2 GB at 7B sizes, which takes the int8 model's peak RSS under 10 GB; they cost the
     * vision stage a conversion per Linear (its 257 rows always take the GEMM path), measured in the README. The
     * Q-Former (0.2 GB, and tuned by training) stays as it is.
     */
    public static final java.util.regex.Pattern QUANTIZED_LINEAR = java.util.regex.Pattern.compile(
            "language_model\\.(model\\.layers\\.\\d+\\.(self_attn\\.[qkvo]_proj|mlp\\.(gate|up|down)_proj)|lm_head)\\.weight"
            + "|vision_model\\.encoder\\.layers\\.\\d+\\.(self_attn\\.(qkv|projection)|mlp\\.fc[12])\\.weight");
}
