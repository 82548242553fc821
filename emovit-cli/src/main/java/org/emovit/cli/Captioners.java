package org.emovit.cli;

import org.emovit.options.CaptionOptions;
import org.emovit.options.ModelOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import org.emovit.generate.Blip2Captioner;
import org.emovit.api.EmbeddedModel;
import org.emovit.generate.GenerationConfig;
import org.emovit.model.InstructBlip;

/**
 * The data pipeline's captioner as {@link CaptionOptions} describe it. Here, not with the options, because it is a
 * {@link org.emovit.data.Captioner} of emovit-data, which the Spark jobs (sharing the options) must not pull in.
 */
final class Captioners {
    private Captioners() {}

    /** The captioner and what to close when done (only the model it needs is loaded). */
    record Opened(org.emovit.data.Captioner captioner, AutoCloseable resource) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            resource.close();
        }
    }

    static Opened open(CaptionOptions options, PrintWriter err) {
        GenerationConfig g = options.decoding();
        ModelOptions model = options.model();
        if (options.blip2() != null) {
            Blip2Captioner c = new Blip2Captioner(options.blip2(), model.scalarType(), model.torchDevice(), g);
            org.emovit.data.Captioner captioner = new org.emovit.data.Captioner() {
                @Override
                public String caption(Path image) {
                    return c.caption(org.emovit.image.ImageDecoder.decode(image));
                }

                @Override
                public String describe() {
                    return c.describe();
                }
            };
            return new Opened(captioner, c);
        }
        if (model.isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        InstructBlip m = model.load();
        return new Opened(new ModelCaptioner(m, model.processor(m), options.prompt(), g), m);
    }
}
