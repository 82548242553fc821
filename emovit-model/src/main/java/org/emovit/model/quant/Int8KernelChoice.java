package org.emovit.model.quant;

import java.util.Locale;

/**
 * Which product the LLM's int8 Linears run, as the user asked: {@code -Demovit.int8.kernel} or, where that is unset,
 * {@code EMOVIT_INT8_KERNEL}. Read once per process: the choice sits on the path of every int8 product, and a
 * model's weights are packed (or not) by it at load time, so a later change could not take effect consistently.
 */
public enum Int8KernelChoice {
    /** FBGEMM where its int32 sums are exact (VNNI), libtorch's int8 kernel elsewhere. */
    AUTO,
    /** FBGEMM wherever its sums are exact, split by sign on AVX2 (faster decoding, slower prefill); an error elsewhere. */
    FBGEMM,
    /** libtorch's {@code aten::_weight_int8pack_mm}, never FBGEMM. */
    INT8PACK;

    public static final String PROPERTY = "emovit.int8.kernel";
    public static final String VARIABLE = "EMOVIT_INT8_KERNEL";

    private static volatile Int8KernelChoice current;

    /** The choice of this process, read on first use. */
    public static Int8KernelChoice current() {
        Int8KernelChoice c = current;
        if (c == null) {
            c = parse(System.getProperty(PROPERTY, System.getenv(VARIABLE)));
            current = c;
        }
        return c;
    }

    /**
     * A setting's value as a choice: auto where unset or blank, case ignored.
     *
     * @throws IllegalArgumentException naming the setting and the value, for anything else
     */
    public static Int8KernelChoice parse(String value) {
        String choice = value == null || value.isBlank() ? "auto" : value.trim().toLowerCase(Locale.ROOT);
        return switch (choice) {
            case "auto" -> AUTO;
            case "fbgemm" -> FBGEMM;
            case "int8pack" -> INT8PACK;
            default -> throw new IllegalArgumentException(PROPERTY + " / " + VARIABLE + ": auto, fbgemm or int8pack, not '" + value + "'");
        };
    }

    /** As the user writes it. */
    public String setting() {
        return name().toLowerCase(Locale.ROOT);
    }
}
