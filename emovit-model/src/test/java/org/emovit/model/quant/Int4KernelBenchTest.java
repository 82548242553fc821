package org.emovit.model.quant;

import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * -Demovit.probe=true: one 4-bit product at the 7B widths through {@link Int4Weight#matmul}, native against libtorch's
 * kernel, [1 | 96, K] x [N, K] on 2 threads (median ms; decode-shaped ones rotate over 3 weights, as a decoding step
 * streams each weight from memory), and the per-call cost of a tiny native product.
 */
class Int4KernelBenchTest {
    private static final Device CPU = new Device("cpu");

    @Test
    @EnabledIfSystemProperty(named = "emovit.probe", matches = "true")
    void nativeAgainstLibtorch() {
        torch.set_num_threads(Integer.getInteger("emovit.probe.threads", 2));
        System.out.println("BENCH threads " + torch.get_num_threads() + ", native: " + NativeInt4.describe());
        for (long[] nk : new long[][] {{4096, 4096}, {11008, 4096}, {4096, 11008}}) {
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                torch.manual_seed(3);
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "BENCH [N %d, K %d]", nk[0], nk[1]));
                for (Int4Weight.Kernel kernel : new Int4Weight.Kernel[] {Int4Weight.Kernel.NATIVE, Int4Weight.Kernel.LIBTORCH}) {
                    Int4Weight[] ws = new Int4Weight[3];
                    for (int i = 0; i < ws.length; i++) {
                        ws[i] = Int4Weight.of(torch.randn(new long[] {nk[0], nk[1]}, Tensors.options(ScalarType.Float, CPU)), kernel);
                    }
                    for (long m : new long[] {1, 96}) {
                        Tensor x = torch.randn(new long[] {m, nk[1]}, Tensors.options(ScalarType.Float, CPU));
                        double ms = median(m == 1 ? 60 : 7, i -> ws[m == 1 ? i % ws.length : 0].matmul(x));
                        line.append(String.format(Locale.ROOT, "  %s M=%d %.3f ms", kernel, m, ms));
                    }
                }
                System.out.println(line);
            }
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Int4Weight tiny = Int4Weight.of(torch.randn(new long[] {64, 64}, Tensors.options(ScalarType.Float, CPU)), Int4Weight.Kernel.NATIVE);
            Tensor x = torch.randn(new long[] {1, 64}, Tensors.options(ScalarType.Float, CPU));
            double ms = median(2000, i -> tiny.matmul(x));
            Tensor v = tiny.values(), p = tiny.params();
            double raw = median(2000, i -> NativeInt4.mm(v, p, x, torch.get_num_threads(), NativeInt4.isa()));
            System.out.println(String.format(Locale.ROOT, "BENCH per call, [1, 64] x [64, 64]: matmul %.1f us, NativeInt4.mm %.1f us", ms * 1e3, raw * 1e3));
            double empty = median(2000, i -> torch.empty(new long[] {1, 64}, Tensors.options(ScalarType.Float, CPU), new org.bytedeco.pytorch.MemoryFormatOptional()));
            double contig = median(2000, i -> x.reshape(-1, 64).to(ScalarType.Float).contiguous());
            double ptr = median(2000, i -> { x.data_ptr().address(); return null; });
            double threads = median(2000, i -> { torch.get_num_threads(); return null; });
            double tiny1 = median(2000, i -> NativeInt4.mm(v, p, x, 1, NativeInt4.isa()));
            System.out.println(String.format(Locale.ROOT, "BENCH empty %.1f us, reshape/to/contiguous %.1f us, data_ptr %.1f us, get_num_threads %.1f us, mm 1 thread %.1f us",
                    empty * 1e3, contig * 1e3, ptr * 1e3, threads * 1e3, tiny1 * 1e3));
        }
    }

    private static double median(int runs, java.util.function.IntFunction<Tensor> call) {
        for (int i = 0; i < Math.min(runs, 5); i++) {
            try (PointerScope s = new PointerScope()) {
                call.apply(i);
            }
        }
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            try (PointerScope s = new PointerScope()) {
                long t0 = System.nanoTime();
                call.apply(i);
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Arrays.sort(t);
        return t[runs / 2];
    }
}
