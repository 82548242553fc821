package org.emovit.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.emovit.core.Prompts;
import org.emovit.model.InstructBlipConfig;
import org.emovit.model.InstructBlipInputs;
import org.emovit.model.Tensors;
import org.emovit.text.QFormerTokenizer;
import org.emovit.text.VicunaTokenizer;

/**
 * Training batches as LAVIS's blip2_vicuna_instruct builds them: the question is the instruction for the
 * Q-Former (BERT, truncated from the left) and the LLM prompt (`</s>` + tokens, truncated from the left to
 * max_txt_len); the answer ("Complex" removed) follows without BOS, with `</s>` appended (truncated from the
 * right to max_output_txt_len); sequences are right-padded. Labels are -100 on the image slots, the prompt and
 * the padding, the answer tokens elsewhere.
 */
public final class Batcher {

    /** Model inputs plus labels; pixel values are filled by the caller (eval or train transform). */
    public record Batch(Tensor qformerInputIds, Tensor qformerAttentionMask, long[][] inputIds, Tensor attentionMask, Tensor labels) {
        /** The model's inputs for these rows with these pixels (null when the image features are given instead). */
        public InstructBlipInputs inputs(Tensor pixelValues) {
            return new InstructBlipInputs(pixelValues, qformerInputIds, qformerAttentionMask, inputIds, attentionMask);
        }
    }

    public static final long IGNORE = -100;

    private final InstructBlipConfig config;
    private final QFormerTokenizer qformerTokenizer;
    private final VicunaTokenizer llmTokenizer;
    private final int maxTxtLen;
    private final int maxOutputTxtLen;

    public Batcher(InstructBlipConfig config, QFormerTokenizer qformerTokenizer, VicunaTokenizer llmTokenizer, int maxTxtLen,
                   int maxOutputTxtLen) {
        this.config = config;
        this.qformerTokenizer = qformerTokenizer;
        this.llmTokenizer = llmTokenizer;
        this.maxTxtLen = maxTxtLen;
        this.maxOutputTxtLen = maxOutputTxtLen;
    }

    public Batch build(List<TrainingSample> records) {
        List<String> questions = new ArrayList<>();
        List<long[]> rows = new ArrayList<>();
        List<long[]> labelRows = new ArrayList<>();
        int q = config.numQueryTokens();
        long slot = config.imageTokenIndex() >= 0 ? config.imageTokenIndex() : llmTokenizer.padId();
        int longest = 0;
        for (TrainingSample r : records) {
            questions.add(r.question());
            int[] prompt = llmTokenizer.encode(r.question(), true);
            if (prompt.length > maxTxtLen) {
                int[] kept = new int[maxTxtLen];
                kept[0] = prompt[0];
                System.arraycopy(prompt, prompt.length - maxTxtLen + 1, kept, 1, maxTxtLen - 1);
                prompt = kept;
            }
            int[] answerText = llmTokenizer.encode(Prompts.trainingAnswer(r.answer()), false);
            int[] answer = Arrays.copyOf(answerText, Math.min(answerText.length + 1, maxOutputTxtLen));
            if (answer.length == answerText.length + 1) {
                answer[answer.length - 1] = llmTokenizer.eosId();
            }
            long[] row = new long[q + prompt.length + answer.length];
            long[] labels = new long[row.length];
            Arrays.fill(row, 0, q, slot);
            Arrays.fill(labels, 0, q + prompt.length, IGNORE);
            for (int i = 0; i < prompt.length; i++) {
                row[q + i] = prompt[i];
            }
            for (int i = 0; i < answer.length; i++) {
                row[q + prompt.length + i] = answer[i];
                labels[q + prompt.length + i] = answer[i];
            }
            rows.add(row);
            labelRows.add(labels);
            longest = Math.max(longest, row.length);
        }
        long[][] ids = new long[rows.size()][longest];
        long[][] mask = new long[rows.size()][longest];
        long[][] labels = new long[rows.size()][longest];
        for (int b = 0; b < rows.size(); b++) {
            long[] row = rows.get(b);
            Arrays.fill(ids[b], llmTokenizer.padId());
            Arrays.fill(labels[b], IGNORE);
            System.arraycopy(row, 0, ids[b], 0, row.length);
            System.arraycopy(labelRows.get(b), 0, labels[b], 0, row.length);
            Arrays.fill(mask[b], 0, row.length, 1);
        }
        QFormerTokenizer.Batch qb = qformerTokenizer.encodeBatch(questions, Math.min(maxTxtLen, config.qformer().maxPositions()));
        return new Batch(Tensors.fromLongs(qb.inputIds()), Tensors.fromLongs(qb.attentionMask()), ids, Tensors.fromLongs(mask),
                Tensors.fromLongs(labels));
    }
}
