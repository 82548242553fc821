package org.emovit.api;


import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The tiny InstructBLIP reference model (random weights, Hugging Face layout) and sample images that ship
 * inside emovit, so that every command runs on a fresh clone. Its answers are noise: it exists to show the
 * pipeline working end to end, not to recognise emotions. Extracted to one fixed temporary directory per
 * version (each file written to a temporary name and moved into place, so concurrent runs never see half a file).
 */
public final class EmbeddedModel {
    private static final String ROOT = "/org/emovit/embedded/";
    private static final List<String> MODEL_FILES = List.of("config.json", "generation_config.json", "model.safetensors",
            "tokenizer.model", "qformer_tokenizer/vocab.txt");
    public static final List<String> SAMPLES = List.of("photo.jpg", "gray.png", "palette.gif");
    public static final String NOTE = "note: this is the tiny random-weight test model embedded in emovit; its answers are noise. "
            + "Point --model at a Hugging Face InstructBLIP directory (or --vit/--qformer/--llm at LAVIS checkpoints, "
            + "with --overlay model_weights1.pth for EmoVIT's tuned weights) to run the real model.";

    private static Path extracted;

    private EmbeddedModel() {}

    public static synchronized Path directory() {
        if (extracted == null) {
            extracted = extract();
        }
        return extracted.resolve("tiny-instructblip");
    }

    public static Path sample(String name) {
        directory();
        return extracted.resolve("samples").resolve(name);
    }

    private static Path extract() {
        try {
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "emovit-embedded-0.1.0-" + System.getProperty("user.name"));
            for (String f : MODEL_FILES) {
                copy("tiny-instructblip/" + f, dir);
            }
            for (String f : SAMPLES) {
                copy("samples/" + f, dir);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the embedded model: " + e.getMessage(), e);
        }
    }

    private static void copy(String resource, Path dir) throws IOException {
        try (InputStream in = EmbeddedModel.class.getResourceAsStream(ROOT + resource)) {
            if (in == null) {
                throw new IOException("resource " + ROOT + resource + " is missing from the build");
            }
            Path target = dir.resolve(resource);
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), ".part", null);
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }
}
