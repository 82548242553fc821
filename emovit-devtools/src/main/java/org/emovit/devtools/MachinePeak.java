package org.emovit.devtools;

import org.bytedeco.pytorch.Device;
import org.emovit.model.Owned;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.Ops;
import org.emovit.model.Tensors;

/**
 * What this machine achieves right now on the operations the model is made of, measured in the benchmark's own
 * run: absolute times vary twofold between machines of one kind, so only a ratio to these says how close the
 * code is to the limit.
 */
final class MachinePeak {
    /** Each probe runs at least this long (after a warm-up), and the best repetition counts. */
    private static final double MIN_SECONDS = 0.5;

    private MachinePeak() {}

    /** GFLOP/s of {@code x[m, k] · w[n, k]ᵀ} through the model's own linear, in {@code dtype} on {@code dev}. */
    static double matmulGflops(long m, long k, long n, ScalarType dtype, Device dev) {
        try (Owned.Scope scope = Owned.scope()) {
            Tensor x = torch.randn(new long[] {m, k}, Tensors.options(dtype, dev));
            Tensor w = torch.randn(new long[] {n, k}, Tensors.options(dtype, dev));
            double seconds = best(() -> Ops.linear(x, w, null), dev);
            return 2.0 * m * k * n / seconds / 1e9;
        }
    }

    /** GB/s of a copy of {@code bytes} from one tensor to another (each byte read once and written once). */
    static double copyGbps(long bytes, Device dev) {
        try (Owned.Scope scope = Owned.scope()) {
            Tensor src = torch.ones(new long[] {bytes / 2}, Tensors.options(ScalarType.BFloat16, dev));
            Tensor dst = torch.empty(new long[] {bytes / 2}, Tensors.options(ScalarType.BFloat16, dev), new MemoryFormatOptional());
            double seconds = best(() -> dst.copy_(src), dev);
            return 2.0 * bytes / seconds / 1e9;
        }
    }

    private static double best(java.util.function.Supplier<Tensor> op, Device dev) {
        finish(op.get(), dev);
        double best = Double.MAX_VALUE;
        long start = System.nanoTime();
        do {
            try (Owned.Scope rep = Owned.scope()) {
                long a = System.nanoTime();
                finish(op.get(), dev);
                best = Math.min(best, (System.nanoTime() - a) / 1e9);
            }
        } while ((System.nanoTime() - start) / 1e9 < MIN_SECONDS);
        return best;
    }

    private static void finish(Tensor t, Device dev) {
        if (dev.is_cuda()) {
            t.sum().cpu();   // a device->host copy waits for the queued kernels
        }
    }
}
