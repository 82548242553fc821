package org.emovit.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.generate.Blip2Captioner;
import org.emovit.api.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.api.ModelSpec;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;

/**
 * What the model answers without Spark, image by image: the reference the jobs' rows are checked against (as
 * `emovit classify` and `emovit data caption` compute it; emovit-smoke compares the packaged jobs with those
 * commands themselves).
 */
final class Reference {
    /** The embedded tiny model, f32 on the CPU: emovit's defaults. */
    static final ModelSpec TINY = new ModelSpec(null, null, null, null, "vicuna7b", null, null, null, "f32", "cpu");

    private Reference() {}

    static List<Path> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** PathKey of every file under dir -> its score-mode result, or null when it is not a readable image. */
    static Map<String, EmoVit.Result> classify(Path dir) throws Exception {
        Map<String, EmoVit.Result> out = new HashMap<>();
        try (NoGradGuard noGrad = new NoGradGuard(); EmoVit model = TINY.open()) {
            for (Path f : files(dir)) {
                RgbImage image;
                try {
                    image = ImageDecoder.decode(f);
                } catch (RuntimeException e) {
                    out.put(PathKey.of(f.toString()), null);
                    continue;
                }
                out.put(PathKey.of(f.toString()), model.classify(List.of(image), EmoVit.Mode.SCORE, GenerationConfig.emovit()).get(0));
            }
        }
        return out;
    }

    /** PathKey -> caption of each image: InstructBLIP answering the prompt, or BLIP-2 OPT from blip2 when not null. */
    static Map<String, String> captions(List<Path> images, Path blip2, String prompt, GenerationConfig decoding) {
        Map<String, String> out = new HashMap<>();
        if (blip2 != null) {
            try (Blip2Captioner c = new Blip2Captioner(blip2, ScalarType.Float, TINY.torchDevice(), decoding)) {
                images.forEach(p -> out.put(PathKey.of(p.toString()), c.caption(ImageDecoder.decode(p))));
            }
            return out;
        }
        try (EmoVit model = TINY.open()) {
            for (Path p : images) {
                out.put(PathKey.of(p.toString()), model.generate(List.of(ImageDecoder.decode(p)), List.of(prompt), decoding, null).get(0).text());
            }
        }
        return out;
    }
}
