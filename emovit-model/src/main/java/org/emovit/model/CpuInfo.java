package org.emovit.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.global.torch;

/**
 * The CPU a figure was measured on: its model, and the instruction-set flags that decide which kernels libtorch
 * runs. This project's machines of one kind differ 2-20x (bf16 matmul ran at ~400 GFLOP/s on an AVX-512 BF16 EPYC
 * and at 20 GFLOP/s on an AVX2-only one), so a CPU figure without these says little.
 *
 * @param model      the CPU's model name ({@code /proc/cpuinfo}), or {@code unknown}
 * @param cores      the cores this JVM may use
 * @param flags      those of {@link #KERNEL_FLAGS} the CPU has
 * @param capability the vector capability libtorch's kernels dispatch on (DEFAULT, AVX2, AVX512, ...)
 */
public record CpuInfo(String model, int cores, List<String> flags, String capability) {
    /** The flags that decide the speed of the model's kernels (f32 and bf16 matmul, int8 dot products, tiles). */
    public static final List<String> KERNEL_FLAGS = List.of("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
            "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8");

    /** This machine, from {@code /proc/cpuinfo} (Linux) and libtorch. */
    public static CpuInfo current() {
        String model = "unknown";
        Set<String> present = Set.of();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String key = line.substring(0, colon).strip();
                String value = line.substring(colon + 1).strip();
                if (key.equals("model name") && model.equals("unknown")) {
                    model = value;
                } else if (key.equals("flags") && present.isEmpty()) {
                    present = Arrays.stream(value.split("\\s+")).collect(Collectors.toSet());
                }
            }
        } catch (IOException e) {
            // not Linux: the model stays unknown and no flag is claimed
        }
        Set<String> has = present;
        return new CpuInfo(model, Runtime.getRuntime().availableProcessors(),
                KERNEL_FLAGS.stream().filter(has::contains).toList(), torch.get_cpu_capability().getString());
    }

    /** One line, e.g. {@code cpu: AMD EPYC, 2 cores; flags: avx2 fma avx512f avx512_bf16 (no amx_*); libtorch kernels: AVX512}. */
    public String describe() {
        List<String> absent = KERNEL_FLAGS.stream().filter(f -> !flags.contains(f)).toList();
        return "cpu: " + model + ", " + cores + " cores; flags: " + (flags.isEmpty() ? "none of them" : String.join(" ", flags))
                + (absent.isEmpty() ? "" : " (not: " + String.join(" ", absent) + ")") + "; libtorch kernels: " + capability;
    }
}
