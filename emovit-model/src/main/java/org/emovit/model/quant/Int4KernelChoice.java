package org.emovit.model.quant;

import java.util.Locale;

/**
 * Which product CPU 4-bit Linears run, as the user asked: {@code -Demovit.int4.kernel} or, where that is unset,
 * {@code EMOVIT_INT4_KERNEL}. Read once per process, as {@link Int8KernelChoice}: a weight is packed (or not) by it
 * when it loads.
 */
public enum Int4KernelChoice {
    /** emovit's native kernel where it loaded, else libtorch's, else the dequantised product. */
    AUTO,
    /** emovit's native kernel; an error where it did not load. */
    NATIVE,
    /** libtorch's {@code _weight_int4pack_mm_for_cpu} (packing every weight at load), else the dequantised product. */
    LIBTORCH,
    /** A dense product on the dequantised weight. */
    DENSE;

    public static final String PROPERTY = "emovit.int4.kernel";
    public static final String VARIABLE = "EMOVIT_INT4_KERNEL";

    private static volatile Int4KernelChoice current;

    /** The choice of this process, read on first use. */
    public static Int4KernelChoice current() {
        Int4KernelChoice c = current;
        if (c == null) {
            c = parse(System.getProperty(PROPERTY, System.getenv(VARIABLE)));
            current = c;
        }
        return c;
    }

    /** A setting's value as a choice: auto where unset or blank, case ignored; anything else is refused, naming it. */
    public static Int4KernelChoice parse(String value) {
        String choice = value == null || value.isBlank() ? "auto" : value.trim().toLowerCase(Locale.ROOT);
        return switch (choice) {
            case "auto" -> AUTO;
            case "native" -> NATIVE;
            case "libtorch" -> LIBTORCH;
            case "dense" -> DENSE;
            default -> throw new IllegalArgumentException(PROPERTY + " / " + VARIABLE + ": auto, native, libtorch or dense, not '" + value + "'");
        };
    }

    /** What a CPU weight [out, in] runs under this choice. */
    Int4Weight.Kernel kernelFor(long out, long in) {
        boolean nativeFits = in % Int4Format.GROUP == 0;
        boolean libtorchFits = Int4Kernel.available() && Int4Format.kernelAccepts(out, in);
        return switch (this) {
            case AUTO -> nativeFits && NativeInt4.available() ? Int4Weight.Kernel.NATIVE
                    : libtorchFits ? Int4Weight.Kernel.LIBTORCH : Int4Weight.Kernel.DENSE;
            case NATIVE -> {
                if (!NativeInt4.available()) {
                    throw new IllegalStateException(PROPERTY + "=native, but " + NativeInt4.unavailableReason());
                }
                yield nativeFits ? Int4Weight.Kernel.NATIVE : Int4Weight.Kernel.DENSE;
            }
            case LIBTORCH -> libtorchFits ? Int4Weight.Kernel.LIBTORCH : Int4Weight.Kernel.DENSE;
            case DENSE -> Int4Weight.Kernel.DENSE;
        };
    }

    /** As the user writes it. */
    public String setting() {
        return name().toLowerCase(Locale.ROOT);
    }
}
