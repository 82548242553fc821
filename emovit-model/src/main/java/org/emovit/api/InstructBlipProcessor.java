package org.emovit.api;


import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.emovit.image.EvalTransform;
import org.emovit.image.RgbImage;
import org.emovit.model.InstructBlipConfig;
import org.emovit.model.InstructBlipInputs;
import org.emovit.model.ModelLoadException;
import org.emovit.model.Tensors;
import org.emovit.text.QFormerTokenizer;
import org.emovit.text.VicunaTokenizer;

/**
 * Turns images and instructions into model inputs the way LAVIS's InstructBLIP does: the eval image
 * transform; the instruction tokenized for the Q-Former (BERT, truncated from the left to 128 tokens) and for
 * the LLM (LLaMA with a leading `</s>` = 2); the LLM sequence is [image slots] ++ prompt, left-padded so that
 * generation continues every row from its last real token. The one place prompts become token ids.
 */
public final class InstructBlipProcessor {

    public static final int QFORMER_MAX_LENGTH = 128;

    private final InstructBlipConfig config;
    private final EvalTransform transform;
    private final QFormerTokenizer qformerTokenizer;
    private final VicunaTokenizer llmTokenizer;

    public InstructBlipProcessor(InstructBlipConfig config, QFormerTokenizer qformerTokenizer, VicunaTokenizer llmTokenizer) {
        this.config = config;
        this.transform = new EvalTransform(config.vision().imageSize());
        this.qformerTokenizer = qformerTokenizer;
        this.llmTokenizer = llmTokenizer;
    }

    /** Tokenizers from their usual places: tokenizer.model in the LLM directory, the Q-Former's vocab.txt. */
    public static InstructBlipProcessor load(InstructBlipConfig config, Path llmDirectory, Path qformerVocab) {
        Path spm = llmDirectory.resolve("tokenizer.model");
        if (!Files.isRegularFile(spm)) {
            throw new ModelLoadException("no tokenizer.model in " + llmDirectory);
        }
        if (qformerVocab == null || !Files.isRegularFile(qformerVocab)) {
            throw new ModelLoadException("Q-Former vocabulary (BERT vocab.txt) not found: " + qformerVocab);
        }
        QFormerTokenizer q = QFormerTokenizer.load(qformerVocab);
        VicunaTokenizer llm = VicunaTokenizer.load(spm);
        checkAgainstConfig(config, llm.vocabSize(), llm.eosId(), spm, q.wordPiece().vocabSize(), qformerVocab);
        return new InstructBlipProcessor(config, q, llm);
    }

    /**
     * A tokenizer that does not belong to the model decodes garbage without an error, so the sizes are checked on
     * load: each tokenizer's vocabulary must fit the embedding table it indexes, and come close to filling it
     * (checkpoints round tables up, or add a few tokens such as an image placeholder; not hundreds).
     */
    static void checkAgainstConfig(InstructBlipConfig config, int llmVocab, int eos, Path spm, int qformerVocab, Path vocabTxt) {
        int table = config.text().vocabSize();
        if (llmVocab > table || table - llmVocab > 128 || eos >= table) {
            throw new ModelLoadException("the LLM tokenizer " + spm + " (" + (llmVocab - 1) + " pieces + [PAD] = " + llmVocab
                    + " ids, EOS " + eos + ") does not belong to this model: its text_config.vocab_size is " + table);
        }
        int qTable = config.qformer().vocabSize();
        if (qformerVocab > qTable || qTable - qformerVocab > 128) {
            throw new ModelLoadException("the Q-Former vocabulary " + vocabTxt + " (" + qformerVocab
                    + " tokens with [DEC]) does not belong to this model: its qformer_config.vocab_size is " + qTable);
        }
    }

    public VicunaTokenizer llmTokenizer() {
        return llmTokenizer;
    }

    public QFormerTokenizer qformerTokenizer() {
        return qformerTokenizer;
    }

    public EvalTransform transform() {
        return transform;
    }

    /** One prompt per image (the same instruction goes to the Q-Former and the LLM, as LAVIS does). */
    public InstructBlipInputs encode(List<RgbImage> images, List<String> prompts) {
        if (images.size() != prompts.size()) {
            throw new IllegalArgumentException(images.size() + " images but " + prompts.size() + " prompts");
        }
        int batch = images.size(), size = config.vision().imageSize();
        float[] pixels = new float[batch * 3 * size * size];
        for (int i = 0; i < batch; i++) {
            float[] one = transform.apply(images.get(i));
            System.arraycopy(one, 0, pixels, i * one.length, one.length);
        }
        // The Q-Former's text positions start at 0, so its position table also bounds the instruction length.
        QFormerTokenizer.Batch q = qformerTokenizer.encodeBatch(prompts, Math.min(QFORMER_MAX_LENGTH, config.qformer().maxPositions()));

        List<long[]> rows = new ArrayList<>();
        int longest = 0;
        for (String prompt : prompts) {
            long[] row = llmRow(prompt);
            rows.add(row);
            longest = Math.max(longest, row.length);
        }
        long[][] ids = new long[batch][longest];
        long[][] mask = new long[batch][longest];
        // Left padding; in the LAVIS layout the image slots stay first and the padding follows them, as LAVIS
        // concatenates [queries] ++ [left-padded prompt]. Either way padded keys are masked out.
        int at = config.imageTokenIndex() >= 0 ? 0 : config.numQueryTokens();
        for (int i = 0; i < batch; i++) {
            long[] row = rows.get(i);
            int pad = longest - row.length;
            System.arraycopy(row, 0, ids[i], 0, at);
            Arrays.fill(ids[i], at, at + pad, llmTokenizer.padId());
            System.arraycopy(row, at, ids[i], at + pad, row.length - at);
            Arrays.fill(mask[i], 0, longest, 1);
            Arrays.fill(mask[i], at, at + pad, 0);
        }
        return new InstructBlipInputs(Tensors.fromFloats(pixels, batch, 3, size, size),
                Tensors.fromLongs(q.inputIds()), Tensors.fromLongs(q.attentionMask()), ids, Tensors.fromLongs(mask));
    }

    /** [image slots] ++ [2] ++ prompt pieces (LAVIS does not truncate the prompt when generating). */
    private long[] llmRow(String prompt) {
        int[] tokens = llmTokenizer.encode(prompt, true);
        int q = config.numQueryTokens();
        long slot = config.imageTokenIndex() >= 0 ? config.imageTokenIndex() : llmTokenizer.padId();
        long[] row = new long[q + tokens.length];
        Arrays.fill(row, 0, q, slot);
        for (int i = 0; i < tokens.length; i++) {
            row[q + i] = tokens[i];
        }
        return row;
    }

    public String decode(long[] ids) {
        int[] asInts = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            asInts[i] = (int) ids[i];
        }
        return llmTokenizer.decode(asInts);
    }
}
