package org.emovit.spark;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code emovit spark bench}: what Spark costs. The same generated images classified as {@code emovit classify}
 * does (the model's batches, no Spark; {@link #plainClassify}) and by {@code spark classify}, in this JVM one after
 * the other, with the default (tiny) model; prints images/s of both and Spark's overhead.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Images/s of `spark classify` against `emovit classify` on the same generated images.")
public final class BenchJob implements Callable<Integer> {

    @Mixin SessionOptions session;

    @Option(names = "--images", defaultValue = "500", description = "How many images to generate (default: ${DEFAULT-VALUE}).")
    int images;

    @Option(names = "--size", defaultValue = "64", description = "Their width in pixels (height 3/4 of it; default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--batch-size", defaultValue = "4", description = "Images per forward pass, both runs (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--dir", paramLabel = "DIR", description = "Work folder (default: a new temporary folder).")
    Path dir;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Path work = dir != null ? dir : Files.createTempDirectory("emovit-spark-bench");
        Path imagesDir = work.resolve("images");
        generate(imagesDir);
        String batch = Integer.toString(batchSize);
        out.printf(Locale.ROOT, "%d images (%dx%d PNG) in %s%n", images, size, size * 3 / 4, imagesDir);
        out.println(org.emovit.model.CpuInfo.current().describe());
        out.flush();

        // a few images first, so that neither timed run pays for loading libtorch or a cold JIT: the comparison is of
        // a warm job against a warm command, what a long run of either costs per image
        Path warm = Files.createDirectories(work.resolve("warm"));
        for (int i = 0; i < 8; i++) {
            Files.copy(imagesDir.resolve(name(i)), warm.resolve(name(i)));
        }
        quietly(() -> plainClassify(warm, 4));

        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long c0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        int cli = quietly(() -> plainClassify(imagesDir, batchSize));
        double cliSeconds = (System.nanoTime() - t0) / 1e9;
        double cliCpu = (os.getProcessCpuTime() - c0) / 1e9;

        long t1 = System.nanoTime();
        try (SessionOptions.Session s = session.open("emovit spark bench")) {
            double sessionSeconds = (System.nanoTime() - t1) / 1e9;
            // the same warm-up for Spark: its first job compiles query code and loads this JVM's model
            long tw = System.nanoTime();
            classify("--input", warm.toString(), "--output", work.resolve("warm.parquet").toString(), "--overwrite");
            double warmSeconds = (System.nanoTime() - tw) / 1e9;
            long c2 = os.getProcessCpuTime();
            long t2 = System.nanoTime();
            int sparkCode = classify("--input", imagesDir.toString(), "--output",
                    work.resolve("spark-classify.parquet").toString(), "--overwrite", "--batch-size", batch);
            double sparkSeconds = (System.nanoTime() - t2) / 1e9;
            double sparkCpu = (os.getProcessCpuTime() - c2) / 1e9;
            if (cli != 0 || sparkCode != 0) {
                out.printf(Locale.ROOT, "a run failed (emovit classify: %d, spark classify: %d)%n", cli, sparkCode);
                return 1;
            }
            out.printf(Locale.ROOT, "emovit classify (no Spark): %6.1f s  %7.2f images/s  CPU %6.1f s (model load included)%n",
                    cliSeconds, images / cliSeconds, cliCpu);
            out.printf(Locale.ROOT, "spark classify (%s): %6.1f s  %7.2f images/s  CPU %6.1f s (job: read, classify, write Parquet, count)%n",
                    s.spark().sparkContext().master(), sparkSeconds, images / sparkSeconds, sparkCpu);
            out.printf(Locale.ROOT, "Spark session start:        %6.1f s, first job (8 images) %.1f s  (once per application)%n",
                    sessionSeconds, warmSeconds);
            out.printf(Locale.ROOT, "Spark overhead: %+.1f %% wall per job, %+.1f %% with the session start, %+.1f %% CPU%n",
                    100 * (sparkSeconds / cliSeconds - 1), 100 * ((sparkSeconds + sessionSeconds) / cliSeconds - 1),
                    100 * (sparkCpu / cliCpu - 1));
            out.flush();
        }
        return 0;
    }

    private static String name(int i) {
        return String.format(Locale.ROOT, "img-%05d.png", i);
    }

    private void generate(Path imagesDir) throws IOException {
        Files.createDirectories(imagesDir);
        Random r = new Random(42);
        int h = Math.max(1, size * 3 / 4);
        for (int i = 0; i < images; i++) {
            BufferedImage img = new BufferedImage(size, h, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < size; x++) {
                    img.setRGB(x, y, r.nextInt(0xFFFFFF));
                }
            }
            ImageIO.write(img, "png", imagesDir.resolve(name(i)).toFile());
        }
    }

    /**
     * Runs the plain classify with its output silenced (its progress bar would interleave with the report), on a thread
     * of its own as Spark's tasks run. With libtorch's default OpenMP threads the tiny model's speed on a busy
     * machine varies several-fold with the calling thread (seen: the JVM's main thread far slower than a fresh one),
     * which would be measured as a Spark speed-up; compare with OMP_NUM_THREADS=1 (README, "Spark").
     */
    private static int quietly(Callable<Integer> run) throws Exception {
        PrintStream err = System.err;
        PrintStream stdout = System.out;
        try {
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            var pool = java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                return pool.submit(run).get();
            } finally {
                pool.shutdown();
            }
        } finally {
            System.setErr(err);
            System.setOut(stdout);
        }
    }

    /**
     * What {@code emovit classify} does with a folder, without Spark and without the command line (which this
     * module does not depend on, see its pom): the model opened, the images decoded and classified in batches.
     * Returns 0, or 2 when an image could not be read, as the command does.
     */
    private static int plainClassify(Path dir, int batch) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        int failed = 0;
        try (EmoVit model = DEFAULT_MODEL.open()) {
            for (int from = 0; from < files.size(); from += batch) {
                List<RgbImage> images = new ArrayList<>();
                for (Path f : files.subList(from, Math.min(files.size(), from + batch))) {
                    try {
                        images.add(ImageDecoder.decode(f));
                    } catch (RuntimeException e) {
                        failed++;
                    }
                }
                if (!images.isEmpty()) {
                    model.classify(images, EmoVit.Mode.SCORE, GenerationConfig.emovit());
                }
            }
        }
        return failed > 0 ? 2 : 0;
    }

    /** The embedded tiny model in f32 on the CPU: what both runs use (no model options). */
    private static final ModelSpec DEFAULT_MODEL = new ModelSpec(null, null, null, null, "vicuna7b", null, null, null, "f32", "cpu");

    /** The classify job on the running session, as `emovit spark classify ARGS` would run it. */
    private static int classify(String... args) {
        return new picocli.CommandLine(new ClassifyJob()).execute(args);
    }
}
