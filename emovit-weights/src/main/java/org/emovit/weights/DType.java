package org.emovit.weights;

/** Element types of the tensors this module reads and writes, with their safetensors names. */
public enum DType {
    F64(8, "F64"),
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    I64(8, "I64"),
    I32(4, "I32"),
    I16(2, "I16"),
    I8(1, "I8"),
    U8(1, "U8"),
    BOOL(1, "BOOL");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The name used in a safetensors header ("F32", "BF16", "I64", ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** True for F64, F32, F16 and BF16. */
    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /**
     * The type for a safetensors dtype name.
     *
     * @throws WeightsException naming the type if it is not one this module supports (e.g. "F8_E4M3", "U16")
     */
    public static DType fromSafetensors(String name) {
        if (name != null) {
            for (DType t : values()) {
                if (t.safetensorsName.equals(name)) {
                    return t;
                }
            }
        }
        throw new WeightsException("unsupported safetensors dtype '" + name + "' (supported: F64, F32, F16, BF16, "
                + "I64, I32, I16, I8, U8, BOOL)");
    }
}
