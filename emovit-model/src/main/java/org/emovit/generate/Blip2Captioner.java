package org.emovit.generate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.image.EvalTransform;
import org.emovit.image.RgbImage;
import org.emovit.model.PrefillInputs;
import org.emovit.model.Blip2Opt;
import org.emovit.model.Blip2OptLoader;
import org.emovit.model.ModelLoadException;
import org.emovit.model.Tensors;
import org.emovit.text.ByteLevelBpeDecoder;

/**
 * The seed's captioner: BLIP-2 OPT (LAVIS blip2_opt / pretrain_opt2.7b, HF layout) with LAVIS's generate()
 * defaults — empty prompt (just OPT's BOS), 5 beams, at most 30 tokens, stopping at a newline as LAVIS does.
 */
public final class Blip2Captioner implements AutoCloseable {
    private final Blip2Opt model;
    private final ByteLevelBpeDecoder decoder;
    private final EvalTransform transform;
    private final GenerationConfig generation;
    private final long stop;

    public Blip2Captioner(Path dir, ScalarType dtype, Device device, GenerationConfig generation) {
        Path vocab = dir.resolve("vocab.json");
        if (!Files.isRegularFile(vocab)) {
            throw new ModelLoadException("no OPT tokenizer (vocab.json) in " + dir);
        }
        this.model = Blip2OptLoader.load(dir, dtype, device);
        this.decoder = ByteLevelBpeDecoder.load(vocab);
        this.transform = new EvalTransform(model.config().vision().imageSize());
        this.generation = generation;
        int newline = decoder.tokenId("\u010a");   // GPT-2's stand-in for "\n": LAVIS's eos_token_id for OPT
        this.stop = newline >= 0 ? newline : model.config().text().eosTokenId();
    }

    /** The caption of one image: beam search from OPT's BOS after the image's queries, stopped at a newline. */
    public String caption(RgbImage image) {
        float[] pixels = transform.apply(image);
        int size = model.config().vision().imageSize(), q = model.config().numQueryTokens();
        long[] ids = new long[q + 1];
        Arrays.fill(ids, 0, q, Math.max(model.config().imageTokenIndex(), 0));
        ids[q] = model.config().text().bosTokenId();
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 1);
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            PrefillInputs prefill = model.prefillInputs(Tensors.fromFloats(pixels, 1, 3, size, size), new long[][] {ids},
                    Tensors.fromLongs(ones, 1, ones.length));
            long[] out = new BeamSearch(model.languageModel(), stop).generate(prefill, generation);
            OptSpecial special = new OptSpecial(model.config().text().bosTokenId(), model.config().text().eosTokenId(),
                    model.config().text().padTokenId(), stop);
            return decoder.decode(out, special.ids()).strip();
        }
    }

    private record OptSpecial(long bos, long eos, long pad, long stop) {
        Set<Long> ids() {
            return Set.of(bos, eos, pad, stop);
        }
    }

    /** A name for the run files. */
    public String describe() {
        return "BLIP-2 OPT (" + model.config().text().numLayers() + " layers), " + generation.numBeams() + " beams";
    }

    @Override
    public void close() {
        model.close();
    }
}
