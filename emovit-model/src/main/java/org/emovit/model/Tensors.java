package org.emovit.model;

import java.nio.ByteBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.weights.DType;
import org.emovit.weights.RawTensor;

/** Moving tensors between the weights readers' byte buffers, Java arrays and libtorch. */
public final class Tensors {
    private Tensors() {}

    public static TensorOptions options(ScalarType dtype, Device device) {
        return new TensorOptions(dtype).device(new DeviceOptional(device));
    }

    public static ScalarType scalarType(DType d) {
        return switch (d) {
            case F64 -> ScalarType.Double;
            case F32 -> ScalarType.Float;
            case F16 -> ScalarType.Half;
            case BF16 -> ScalarType.BFloat16;
            case I64 -> ScalarType.Long;
            case I32 -> ScalarType.Int;
            case I16 -> ScalarType.Short;
            case I8 -> ScalarType.Char;
            case U8 -> ScalarType.Byte;
            case BOOL -> ScalarType.Bool;
        };
    }

    /**
     * The most negative finite value of a floating dtype, used for additive attention masks as HF does.
     * (JavaCPP hands back enum values that must be interned before a switch.)
     */
    public static double lowest(ScalarType dtype) {
        return switch (dtype.intern()) {
            case Float -> -Float.MAX_VALUE;
            case BFloat16 -> -3.3895313892515355e38;
            case Half -> -65504.0;
            default -> -Double.MAX_VALUE;
        };
    }

    /**
     * A CPU tensor over the raw tensor's bytes without copying them (the raw buffer must stay reachable while
     * the tensor is used: callers keep the source open). Heap buffers are copied to native memory first, and so are
     * mapped bytes that do not start on a multiple of their element size (a valid file may put a tensor anywhere;
     * libtorch's kernels take their pointers as typed, aligned ones). Stronger needs (the int8 kernel's) are met
     * where that kernel runs ({@link org.emovit.model.quant.Int8PackMmOperands}).
     */
    public static Tensor viewOf(RawTensor raw) {
        ByteBuffer data = raw.data();
        ScalarType type = scalarType(raw.dtype());
        if (data.isDirect() && new BytePointer(data).address() % raw.dtype().byteSize() == 0) {
            return torch.from_blob(new BytePointer(data), raw.shape(), new TensorOptions(type));
        }
        Tensor t = torch.empty(raw.shape(), new TensorOptions(type), new MemoryFormatOptional());
        if (data.hasRemaining()) {
            new BytePointer(t.data_ptr()).capacity(data.remaining()).asByteBuffer().put(data);
        }
        return t;
    }

    /** Copies (or, when dtype and device already match, aliases) a raw tensor onto the device in the dtype. */
    public static Tensor load(RawTensor raw, ScalarType dtype, Device device) {
        return viewOf(raw).to(device, dtype);
    }

    public static Tensor fromFloats(float[] values, long... shape) {
        Tensor t = torch.empty(shape, new TensorOptions(ScalarType.Float), new MemoryFormatOptional());
        new FloatPointer(t.data_ptr()).capacity(values.length).put(values, 0, values.length);
        return t;
    }

    public static Tensor fromBytes(byte[] values, long... shape) {
        Tensor t = torch.empty(shape, new TensorOptions(ScalarType.Byte), new MemoryFormatOptional());
        new org.bytedeco.javacpp.BytePointer(t.data_ptr()).capacity(values.length).put(values, 0, values.length);
        return t;
    }

    public static Tensor fromLongs(long[] values, long... shape) {
        Tensor t = torch.empty(shape, new TensorOptions(ScalarType.Long), new MemoryFormatOptional());
        new LongPointer(t.data_ptr()).capacity(values.length).put(values, 0, values.length);
        return t;
    }

    public static Tensor fromLongs(long[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        long[] flat = new long[rows.length * cols];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, flat, i * cols, cols);
        }
        return fromLongs(flat, rows.length, cols);
    }

    public static float[] toFloats(Tensor t) {
        Tensor c = t.detach().to(new Device("cpu"), ScalarType.Float).contiguous();
        int n = (int) c.numel();
        float[] out = new float[n];
        new FloatPointer(c.data_ptr()).capacity(n).get(out, 0, n);
        return out;
    }

    public static long[] toLongs(Tensor t) {
        // a decoding step's chosen tokens are CPU longs already: three dispatcher calls fewer per token
        boolean ready = t.is_cpu() && t.scalar_type().intern() == ScalarType.Long && t.is_contiguous() && !t.requires_grad();
        Tensor c = ready ? t : t.detach().to(new Device("cpu"), ScalarType.Long).contiguous();
        int n = (int) c.numel();
        long[] out = new long[n];
        new LongPointer(c.data_ptr()).capacity(n).get(out, 0, n);
        return out;
    }

    public static long[] shape(Tensor t) {
        long[] s = new long[(int) t.dim()];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.size(i);
        }
        return s;
    }

    /** A float32 RawTensor copy, for writing results to safetensors. */
    public static RawTensor toRawF32(Tensor t) {
        return RawTensor.ofFloats(shape(t), toFloats(t));
    }

    public static RawTensor toRawI64(Tensor t) {
        return RawTensor.ofLongs(shape(t), toLongs(t));
    }
}
