package org.emovit.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.emovit.core.Emotion;
import org.emovit.core.Prompts;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every prompt and answer the project builds, tokenized as InstructBLIP's Python processor tokenizes it with the
 * real vocabularies (LAVIS's LlamaTokenizer for the LLM, BertTokenizer for the Q-Former). A prompt missing from
 * the reference fails the test: tools/tokenizer-reference/make_reference.py must then learn it.
 */
class ProjectPromptsTest {
    static final Map<String, JsonNode> BY_TEXT = new HashMap<>();

    @BeforeAll
    static void load() throws IOException {
        RealVocabularyTest.load();
        for (JsonNode r : RealVocabularyTest.REFERENCE) {
            BY_TEXT.put(r.get("text").asText(), r);
        }
    }

    static List<String> prompts() {
        List<String> out = new ArrayList<>(List.of(Prompts.CLASSIFICATION_INSTRUCTION, Prompts.CAPTION_INSTRUCTION,
                Prompts.explanationQuestion(null), Prompts.ANSWER_PREFIX));
        for (Emotion e : Emotion.values()) {
            out.add(Prompts.answer(e));
            out.add(Prompts.explanationQuestion(e.label()));
        }
        return out;
    }

    @Test
    void everyPromptGivesTheProcessorsIds() {
        for (String prompt : prompts()) {
            JsonNode expected = BY_TEXT.get(prompt);
            assertThat(expected).as("reference ids for the prompt '%s'", prompt).isNotNull();
            int[] llm = RealVocabularyTest.vicuna.encode(prompt, true);
            assertThat(llm[0]).isEqualTo(2);
            assertThat(java.util.Arrays.copyOfRange(llm, 1, llm.length)).as(prompt)
                    .containsExactly(RealVocabularyTest.ids(expected.has("vicuna") ? expected.get("vicuna") : expected.get("sp")));
            assertThat(RealVocabularyTest.qformer.wordPiece().encode(prompt)).as(prompt)
                    .containsExactly(RealVocabularyTest.ids(expected.get("bert")));
        }
    }

    /** Score mode scores each answer as it was tuned: its tokens, then eos, as LAVIS tokenizes answer + "</s>". */
    @Test
    void everyScoredAnswerEndsInEosAsTheProcessorMakesIt() {
        for (Emotion e : Emotion.values()) {
            JsonNode expected = BY_TEXT.get(Prompts.answer(e) + "</s>");
            assertThat(expected).as(e.label()).isNotNull();
            int[] answer = RealVocabularyTest.vicuna.encode(Prompts.answer(e), false);
            int[] withEos = java.util.Arrays.copyOf(answer, answer.length + 1);
            withEos[answer.length] = RealVocabularyTest.vicuna.eosId();
            assertThat(withEos).as(e.label()).containsExactly(RealVocabularyTest.ids(expected.get("vicuna")));
            assertThat(RealVocabularyTest.vicuna.encode(Prompts.answer(e) + "</s>", false)).containsExactly(withEos);
        }
    }

    /** The two labels that the stale-merge defect spelled wrongly (amusement, excitement), spelled as sentencepiece does. */
    @Test
    void theLabelsArePiecesAsSentencepieceMakesThem() {
        assertThat(RealVocabularyTest.spm.encodeAsPieces("amusement")).containsExactly("\u2581am", "usement");
        assertThat(RealVocabularyTest.spm.encodeAsPieces("excitement")).containsExactly("\u2581excitement");
        assertThat(RealVocabularyTest.spm.encodeAsPieces("group together")).containsExactly("\u2581group", "\u2581together");
    }
}
