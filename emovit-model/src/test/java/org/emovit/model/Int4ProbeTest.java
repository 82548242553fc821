package org.emovit.model;

import org.emovit.model.quant.Int8Weight;
import org.emovit.model.quant.PackedInt8;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * -Demovit.probe=true: the 4-bit candidates against the int8 products at the 7B shapes ([1 | 96, 4096] x [4096, 11008]
 * and [., 11008] x [11008, 4096]), each product's time and its relative error against f32's: libtorch's
 * {@code _weight_int4pack_mm_for_cpu} (groups of 32, 64, 128; bf16 and f32 activations) and
 * {@code _dyn_quant_matmul_4bit}. The numbers that chose the kernel are in the README.
 */
class Int4ProbeTest {
    private static final Device CPU = new Device("cpu");

    static Tensor call(String name, Object... args) {
        try (OperatorHandle op = Dispatcher.singleton().findSchemaOrThrow(name, "")) {
            IValueVector stack = new IValueVector();
            for (Object a : args) {
                if (a instanceof Tensor t) stack.push_back(new IValue(t));
                else if (a instanceof Long l) stack.push_back(new IValue(l.longValue()));
                else if (a == null) stack.push_back(new IValue());
            }
            op.callBoxed(stack);
            return new Tensor(stack.get(0).toTensor());
        }
    }

    static void schema(String name) {
        System.out.println("OPERATOR " + name + ": " + (org.emovit.model.quant.NativeOperators.allRegistered(name) ? "registered" : "absent"));
    }

    @Test
    @EnabledIfSystemProperty(named = "emovit.probe", matches = "true")
    void probe() {
        for (String s : new String[] {"aten::_weight_int4pack_mm_for_cpu", "aten::_convert_weight_to_int4pack_for_cpu",
                "aten::_dyn_quant_matmul_4bit", "aten::_dyn_quant_pack_4bit_weight", "aten::fbgemm_pack_quantized_matrix",
                "aten::fbgemm_linear_int8_weight_fp32_activation", "aten::_weight_int8pack_mm"}) {
            schema(s);
        }
        System.out.println("threads " + torch.get_num_threads() + " cap " + torch.get_cpu_capability().getString());
        for (long[] nk : new long[][] {{11008, 4096}, {4096, 11008}}) {
            long n = nk[0], k = nk[1];
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                torch.manual_seed(3);
                Tensor w = torch.randn(new long[] {n, k}, Tensors.options(ScalarType.Float, CPU));
                Int8Weight q8 = Int8Weight.quantize(w);
                Int8Weight p8 = PackedInt8.available() ? q8.packed(q8.values()) : null;
                for (long m : new long[] {1, 96}) {
                    Tensor xf = torch.randn(new long[] {m, k}, Tensors.options(ScalarType.Float, CPU));
                    Tensor xb = xf.to(ScalarType.BFloat16);
                    Tensor ref = torch.linear(xf, w);
                    Tensor wb = w.to(ScalarType.BFloat16);
                    time("bf16 linear", m, n, k, () -> torch.linear(xb, wb), null, null);
                    if (m == 1) time("int8pack_mm bf16", m, n, k, () -> q8.matmul(xb), ref, null);
                    if (p8 != null) time("int8 FBGEMM packed", m, n, k, () -> p8.matmul(xf), ref, null);
                    for (long gs : new long[] {32, 64, 128}) {
                        Tensor[] pk = int4(w, gs);
                        // f32 activations are unvectorised (50x slower): timed at one row only
                        for (ScalarType dt : m == 1 ? new ScalarType[] {ScalarType.BFloat16, ScalarType.Float} : new ScalarType[] {ScalarType.BFloat16}) {
                            Tensor x = xf.to(dt);
                            Tensor sz = pk[1].to(dt);
                            time("int4pack_mm g" + gs + " " + dt, m, n, k,
                                    () -> call("aten::_weight_int4pack_mm_for_cpu", x, pk[0], gs, sz), ref, pk[2]);
                        }
                        if (m > 1) {
                            continue;   // _dyn_quant_matmul_4bit's x86 reference path: seconds at 96 rows
                        }
                        try {
                            Tensor[] dq = dyn(w, gs);
                            time("dyn_quant_4bit g" + gs, m, n, k,
                                    () -> call("aten::_dyn_quant_matmul_4bit", xf, dq[0], gs, k, n), ref, dq[1]);
                        } catch (RuntimeException e) {
                            System.out.println("dyn_quant g" + gs + ": " + e.getMessage().lines().findFirst().orElse(""));
                        }
                    }
                }
            }
        }
    }

    /** Min/max groups as Int4Format stores them: the kernel's packing, scales and zeros [K/g, N, 2], the dequantised weight. */
    static Tensor[] int4(Tensor w, long gs) {
        long n = w.size(0), k = w.size(1);
        Tensor wg = w.reshape(n, k / gs, gs);
        Tensor mx = wg.amax(new long[] {2}, true), mn = wg.amin(new long[] {2}, true);
        Tensor scale = mx.sub(mn).div(new Scalar(15.0)).clamp_min(new Scalar(1e-6));
        Tensor q = torch.round(wg.sub(mn).div(scale)).clamp(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0)),
                new org.bytedeco.pytorch.ScalarOptional(new Scalar(15)));
        Tensor zero = mn.add(scale.mul(new Scalar(8.0)));
        Tensor deq = q.sub(new Scalar(8.0)).mul(scale).add(zero).reshape(n, k);
        Tensor qi = q.reshape(n, k).to(ScalarType.Int);
        Tensor packed = call("aten::_convert_weight_to_int4pack_for_cpu", qi, 1L);
        Tensor sz = torch.stack(new org.bytedeco.pytorch.TensorVector(scale.squeeze(2).t(), zero.squeeze(2).t()), 2).contiguous();
        return new Tensor[] {packed, sz, deq};
    }

    /** Symmetric groups for _dyn_quant_pack_4bit_weight: levels q + 8 two a byte, bf16 scales. */
    static Tensor[] dyn(Tensor w, long gs) {
        long n = w.size(0), k = w.size(1);
        Tensor wg = w.reshape(n, k / gs, gs);
        Tensor scale = wg.abs().amax(new long[] {2}, true).div(new Scalar(7.0)).clamp_min(new Scalar(1e-6));
        Tensor q = torch.round(wg.div(scale)).clamp(new org.bytedeco.pytorch.ScalarOptional(new Scalar(-8)),
                new org.bytedeco.pytorch.ScalarOptional(new Scalar(7))).add(new Scalar(8.0));
        Tensor deq = q.sub(new Scalar(8.0)).mul(scale).reshape(n, k);
        Tensor qu = q.reshape(n, k).to(ScalarType.Byte);
        Tensor lo = qu.slice(1, new org.bytedeco.pytorch.LongOptional(0), new org.bytedeco.pytorch.LongOptional(k), 2);
        Tensor hi = qu.slice(1, new org.bytedeco.pytorch.LongOptional(1), new org.bytedeco.pytorch.LongOptional(k), 2);
        Tensor bytes = lo.bitwise_or(hi.bitwise_left_shift(new Scalar(4))).contiguous();
        Tensor sc = scale.reshape(n, k / gs).to(ScalarType.BFloat16).contiguous();
        Tensor packed = call("aten::_dyn_quant_pack_4bit_weight", bytes, sc, null, gs, k, n);
        return new Tensor[] {packed, deq};
    }

    interface Op { Tensor get(); }

    static void time(String name, long m, long n, long k, Op op, Tensor ref, Tensor deq) {
        try {
            Tensor y = op.get();
            String acc = "";
            if (ref != null) {
                Tensor yf = y.to(ScalarType.Float);
                double rel = yf.sub(ref).norm().item_double() / ref.norm().item_double();
                acc = String.format(" relErr(vs f32) %.4f", rel);
            }
            for (int i = 0; i < 2; i++) op.get().close();
            int runs = 0;
            long t0 = System.nanoTime();
            while (runs < (m > 1 ? 4 : 15) || System.nanoTime() - t0 < 400_000_000L) {
                op.get().close();
                runs++;
            }
            double ms = (System.nanoTime() - t0) / 1e6 / runs;
            System.out.printf("PROBE M=%d [%d->%d] %-28s %8.3f ms%s%n", m, k, n, name, ms, acc);
        } catch (RuntimeException e) {
            System.out.println("PROBE " + name + " failed: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}
