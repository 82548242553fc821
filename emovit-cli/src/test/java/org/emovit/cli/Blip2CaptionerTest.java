package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.nio.file.Paths;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.Blip2Captioner;
import org.emovit.generate.GenerationConfig;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The seed's BLIP-2 OPT captioner on the tiny reference model (with a made-up vocab.json: the fixture has none). */
class Blip2CaptionerTest {

    @Test
    void captionsDeterministicallyWithBeams(@TempDir Path dir) throws Exception {
        Path model = Paths.get(Blip2CaptionerTest.class.getClassLoader().getResource("tiny-blip2-opt").toURI());
        RgbImage img = ImageDecoder.decode(ClassifyEvalTest.png(dir.resolve("a.png"), 3));
        try (Blip2Captioner c = new Blip2Captioner(model, ScalarType.Float, new Device("cpu"), new GenerationConfig(5, 8, 1, 1.0, 1.0))) {
            String first = c.caption(img);
            assertThat(first).isEqualTo(c.caption(img));
            assertThat(first).doesNotContain("\n");
            assertThat(c.describe()).contains("BLIP-2 OPT").contains("5 beams");
        }
    }
}
