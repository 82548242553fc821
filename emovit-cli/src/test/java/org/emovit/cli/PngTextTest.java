package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key a heat map's PNG carries: written and read back (any path, UTF-8), and absent from other files. */
class PngTextTest {

    @Test
    void theEntryRoundTripsAndThePictureStaysReadable(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(5, 3, BufferedImage.TYPE_INT_RGB), "png", png);
        Path plain = Files.write(dir.resolve("plain.png"), png.toByteArray());
        String key = "fotos/été/きれい x.jpg";
        Path tagged = Files.write(dir.resolve("tagged.png"), PngText.with(png.toByteArray(), HeatmapFiles.KEY_ENTRY, key));

        assertThat(PngText.read(tagged, HeatmapFiles.KEY_ENTRY)).contains(key);
        assertThat(PngText.read(tagged, "other")).isEmpty();
        assertThat(ImageIO.read(tagged.toFile()).getWidth()).isEqualTo(5);
        assertThat(PngText.read(plain, HeatmapFiles.KEY_ENTRY)).isEmpty();
        assertThat(PngText.read(Files.writeString(dir.resolve("notes.png"), "not a picture"), HeatmapFiles.KEY_ENTRY)).isEmpty();
        assertThat(PngText.read(dir.resolve("missing.png"), HeatmapFiles.KEY_ENTRY)).isEmpty();
    }
}
