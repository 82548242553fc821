package org.emovit.weights;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Test fixtures from src/test/resources, copied to a temporary folder (under their resource path) so they have a file path. */
final class Fixtures {
    static final String HF = "tiny-a/hf/model.safetensors";
    static final String VICUNA = "tiny-a/lavis/vicuna/model.safetensors";
    static final String CASES = "tiny-a/cases.safetensors";
    static final String EVA = "tiny-a/lavis/eva_vit.pth";
    static final String TRIMMED = "tiny-a/lavis/instructblip_trimmed.pth";
    static final String OVERLAY = "tiny-a/lavis/emovit_overlay.pth";

    private Fixtures() {
    }

    static Path copy(String resource, Path dir) {
        Path out = dir.resolve(resource);
        try {
            Files.createDirectories(out.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (InputStream in = Fixtures.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
