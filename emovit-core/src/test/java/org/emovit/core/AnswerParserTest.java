package org.emovit.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AnswerParserTest {

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
            "Predict emotion: awe|awe|AWE",
            "Predict emotion: Awe.|awe|AWE",
            "predict emotion:awe|awe|AWE",
            "  Predict Emotion :  SADNESS!|sadness|SADNESS",
            "Predict emotion: joy|joy|",
            "Predict emotion: awe and wonder|awe|AWE",
            "fear|fear|FEAR",
            "Excitement.|excitement|EXCITEMENT",
            "I think the picture is sad|||"})
    void readsTheLabelAndKeepsAnswersOutsideTheEight(String text, String label, String emotion) {
        AnswerParser.ParsedAnswer a = AnswerParser.parse(text);
        assertThat(a.label()).isEqualTo(label);
        assertThat(a.emotion()).isEqualTo(emotion == null ? null : Emotion.valueOf(emotion));
    }

    @org.junit.jupiter.api.Test
    void anExplanationAfterTheLabelIsNotPartOfIt() {
        AnswerParser.ParsedAnswer a = AnswerParser.parse("Predict emotion: contentment\nThe image shows a calm lake.");
        assertThat(a.emotion()).isEqualTo(Emotion.CONTENTMENT);
    }
}
