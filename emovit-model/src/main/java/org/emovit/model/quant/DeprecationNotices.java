package org.emovit.model.quant;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Tensors;

/**
 * libtorch warns once per process, on stderr, that {@code fbgemm_pack_quantized_matrix} and
 * {@code fbgemm_linear_int8_weight_fp32_activation} are deprecated: a line a user cannot act on, in the middle of a
 * command's output. The first int8 packing runs a tiny product through both with c10's log level raised, so that the
 * once-only warnings are spent there unseen; later products print nothing. The risk they name (the operators may be
 * removed) is handled where they are used: a libtorch without them takes {@code aten::_weight_int8pack_mm} instead.
 * {@code EMOVIT_DEBUG} set leaves the warnings alone.
 */
public final class DeprecationNotices {
    private DeprecationNotices() {}

    /** The operators whose notices are spent here, as the dispatcher names them. */
    public static final String[] OPERATORS = {"aten::fbgemm_pack_quantized_matrix", "aten::fbgemm_linear_int8_weight_fp32_activation"};

    /** c10's level that drops warnings and keeps errors. */
    private static final int ERRORS_ONLY = 2;

    private static boolean spent;

    /** Spends the two notices, once; nothing where the operators are gone, FBGEMM cannot run, or EMOVIT_DEBUG is set. */
    public static synchronized void spend() {
        if (spent) {
            return;
        }
        spent = true;
        if (debug() || !NativeOperators.allRegistered(OPERATORS)) {
            return;
        }
        setLogLevel(ERRORS_ONLY);
        try (PointerScope scope = new PointerScope()) {
            org.bytedeco.pytorch.Device cpu = new org.bytedeco.pytorch.Device("cpu");
            Tensor w = torch.ones(new long[] {2, 2}, Tensors.options(ScalarType.Char, cpu));
            Tensor packed = torch.fbgemm_pack_quantized_matrix(w);
            Tensor x = torch.ones(new long[] {1, 2}, Tensors.options(ScalarType.Float, cpu));
            Tensor sums = torch.ones(new long[] {2}, Tensors.options(ScalarType.Int, cpu));
            Tensor bias = torch.zeros(new long[] {2}, Tensors.options(ScalarType.Float, cpu));
            torch.fbgemm_linear_int8_weight_fp32_activation(x, w, packed, sums, new Scalar(1.0), new Scalar(0L), bias);
        } catch (RuntimeException e) {
            // FBGEMM unsupported on this CPU: the exactness check finds it and the int8 kernel is used
        } finally {
            setLogLevel(defaultLogLevel());
        }
    }

    private static boolean debug() {
        return System.getenv("EMOVIT_DEBUG") != null;
    }

    /** The level c10 starts at: {@code TORCH_CPP_LOG_LEVEL} where set (INFO, WARNING, ERROR, FATAL or 0-3), else WARNING. */
    static int defaultLogLevel() {
        String v = System.getenv("TORCH_CPP_LOG_LEVEL");
        if (v == null) {
            return 1;
        }
        return switch (v.strip().toUpperCase(java.util.Locale.ROOT)) {
            case "0", "INFO" -> 0;
            case "2", "ERROR" -> 2;
            case "3", "FATAL" -> 3;
            default -> 1;
        };
    }

    /** Sets c10's minimum log level through its own flag parser. */
    private static void setLogLevel(int level) {
        try (BytePointer program = new BytePointer("emovit"); BytePointer flag = new BytePointer("--caffe2_log_level=" + level);
             PointerPointer<BytePointer> argv = new PointerPointer<>(program, flag)) {
            torch.ParseCommandLineFlags(new int[] {2}, argv);   // the presets pass argv's address (@ByPtrPtr)
            torch.UpdateLoggingLevelsFromFlags();
        }
    }
}
