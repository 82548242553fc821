package org.emovit.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@code --dtype auto} (the default) runs in on this machine, and why: the one place the compute type is chosen.
 *
 * <ul>
 *   <li>CUDA: bf16 (tensor cores; half the memory traffic).</li>
 *   <li>A small model (the widest layer under {@link #SMALL_WIDTH}): f32. At such widths a product is a few
 *       microseconds either way, and f32 gives the Python references' numbers.</li>
 *   <li>A CPU with native bf16 ({@code avx512_bf16} or {@code amx_bf16}): bf16. On the AVX-512 BF16 EPYC the
 *       7B-shaped bf16 matmul ran at 376-409 GFLOP/s, several times its f32 rate.</li>
 *   <li>Any other CPU: f32. There libtorch's bf16 kernels run far below the f32 rate (20 GFLOP/s on an AVX2-only
 *       EPYC); int8 weights ({@code emovit convert --quantize int8}) keep their own storage either way.</li>
 *   <li>Unless the f32 weights would not fit in the memory available: then bf16, whose storage is half, and a hint.</li>
 * </ul>
 *
 * {@code emovit bench} prints the choice beside the f32 and bf16 matmul rates it measures, so a wrong rule shows.
 *
 * @param precision what the model runs in
 * @param reason    one line saying why, printed by bench and recorded nowhere else
 */
public record PrecisionChoice(Precision precision, String reason) {
    /** The name users give for the machine's choice. */
    public static final String AUTO = "auto";

    /** Below this width (the LLM's or the ViT's hidden size) a model counts as small. */
    static final int SMALL_WIDTH = 1024;

    /** CPU flags that mean native bf16 dot products. */
    static final List<String> NATIVE_BF16 = List.of("avx512_bf16", "amx_bf16");

    public static boolean isAuto(String dtype) {
        return dtype == null || dtype.equalsIgnoreCase(AUTO);
    }

    /**
     * {@code --dtype}: a precision as given, or (null or {@code auto}) the machine's choice for a model of these sizes.
     *
     * @param int8 whether the LLM's and the ViT's Linears are stored int8 (they do not grow in f32)
     */
    public static PrecisionChoice of(String dtype, InstructBlipConfig sizes, boolean cuda, boolean int8) {
        if (!isAuto(dtype)) {
            return new PrecisionChoice(Precision.parse(dtype), "--dtype " + dtype);
        }
        return choose(sizes, cuda, int8, CpuInfo.current(), availableBytes());
    }

    static PrecisionChoice choose(InstructBlipConfig sizes, boolean cuda, boolean int8, CpuInfo cpu, long availableBytes) {
        if (cuda) {
            return new PrecisionChoice(Precision.BF16, "auto: bf16 on CUDA");
        }
        int width = Math.max(sizes.text().hiddenSize(), sizes.vision().hiddenSize());
        if (width < SMALL_WIDTH) {
            return new PrecisionChoice(Precision.F32, "auto: f32 for a small model (widest layer " + width + " < " + SMALL_WIDTH + ")");
        }
        List<String> bf16Flags = NATIVE_BF16.stream().filter(cpu.flags()::contains).toList();
        if (!bf16Flags.isEmpty()) {
            return new PrecisionChoice(Precision.BF16, "auto: bf16, the CPU has native bf16 (" + String.join(" ", bf16Flags) + ")");
        }
        double f32Bytes = floatWeightBytes(sizes, int8, 4);
        if (availableBytes > 0 && f32Bytes > 0.9 * availableBytes) {
            return new PrecisionChoice(Precision.BF16, String.format(java.util.Locale.ROOT,
                    "auto: bf16 storage, as f32 weights (%.1f GB) would not fit in the %.1f GB available; on a CPU without native bf16 "
                            + "that is slow: `emovit convert --quantize int8` makes the LLM and the ViT 1 byte per weight and lets the rest run in f32",
                    f32Bytes / 1e9, availableBytes / 1e9));
        }
        return new PrecisionChoice(Precision.F32, "auto: f32, the CPU has no native bf16 (none of " + String.join(" ", NATIVE_BF16)
                + "), where libtorch's bf16 kernels run far below its f32 rate");
    }

    /** The weights' bytes at {@code elementBytes} per float (the LLM's and the ViT's Linears at 1 byte when stored int8). */
    static double floatWeightBytes(InstructBlipConfig c, boolean int8, int elementBytes) {
        LlamaConfig t = c.text();
        double d = t.hiddenSize(), kv = (double) t.numKvHeads() * t.headDim(), ff = t.intermediateSize();
        double llmLinears = t.numLayers() * (2 * d * d + 2 * d * kv + 3 * d * ff);
        double embeddings = 2.0 * t.vocabSize() * d;
        VisionConfig v = c.vision();
        double vit = (double) v.numLayers() * (4.0 * v.hiddenSize() * v.hiddenSize() + 2.0 * v.hiddenSize() * v.intermediateSize());
        QFormerConfig q = c.qformer();
        double qformer = (double) q.numLayers() * (8.0 * q.hiddenSize() * q.hiddenSize() + 2.0 * q.hiddenSize() * q.intermediateSize());
        return (llmLinears + vit) * (int8 ? 1 : elementBytes) + (embeddings + qformer) * elementBytes;
    }

    /** MemAvailable from /proc/meminfo, or 0 where unknown (no memory rule then). */
    static long availableBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    @Override
    public String toString() {
        return precision + " (" + reason + ")";
    }
}
