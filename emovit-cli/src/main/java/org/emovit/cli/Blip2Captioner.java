package org.emovit.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.data.Captioner;
import org.emovit.generate.BeamSearch;
import org.emovit.generate.GenerationConfig;
import org.emovit.image.EvalTransform;
import org.emovit.image.ImageDecoder;
import org.emovit.model.Blip2Opt;
import org.emovit.model.ModelLoadException;
import org.emovit.model.Tensors;
import org.emovit.text.ByteLevelBpeDecoder;

/**
 * The seed's captioner: BLIP-2 OPT (LAVIS blip2_opt / pretrain_opt2.7b, HF layout) with LAVIS's generate()
 * defaults — empty prompt (just OPT's BOS), 5 beams, at most 30 tokens, stopping at a newline as LAVIS does.
 */
final class Blip2Captioner implements Captioner, AutoCloseable {
    private final Blip2Opt model;
    private final ByteLevelBpeDecoder decoder;
    private final EvalTransform transform;
    private final GenerationConfig generation;
    private final long stop;

    Blip2Captioner(Path dir, ScalarType dtype, Device device, GenerationConfig generation) {
        Path vocab = dir.resolve("vocab.json");
        if (!Files.isRegularFile(vocab)) {
            throw new ModelLoadException("no OPT tokenizer (vocab.json) in " + dir);
        }
        this.model = Blip2Opt.load(dir, dtype, device);
        this.decoder = ByteLevelBpeDecoder.load(vocab);
        this.transform = new EvalTransform(model.config().vision().imageSize());
        this.generation = generation;
        int newline = decoder.tokenId("\u010a");   // GPT-2's stand-in for "\n": LAVIS's eos_token_id for OPT
        this.stop = newline >= 0 ? newline : model.config().text().eosTokenId();
    }

    @Override
    public String caption(Path image) {
        float[] pixels = transform.apply(ImageDecoder.decode(image));
        int size = model.config().vision().imageSize(), q = model.config().numQueryTokens();
        long[] ids = new long[q + 1];
        Arrays.fill(ids, 0, q, Math.max(model.config().imageTokenIndex(), 0));
        ids[q] = model.config().text().bosTokenId();
        try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            Tensor prompt = model.imagePrompt(Tensors.fromFloats(pixels, 1, 3, size, size));
            Tensor embeds = model.inputEmbeddings(new long[][] {ids}, prompt);
            long[] ones = new long[ids.length];
            Arrays.fill(ones, 1);
            long[] out = new BeamSearch(model.languageModel(), stop).generate(embeds, Tensors.fromLongs(ones, 1, ones.length), generation);
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

    @Override
    public List<String> captionBatch(List<Path> images) {
        List<String> out = new ArrayList<>();
        for (Path p : images) {
            out.add(caption(p));
        }
        return out;
    }

    @Override
    public String describe() {
        return "BLIP-2 OPT (" + model.config().text().numLayers() + " layers), " + generation.numBeams() + " beams";
    }

    @Override
    public void close() {
        model.close();
    }
}
