package org.emovit.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class EmotionJsonTest {
    static final ObjectMapper JSON = new ObjectMapper();

    record Answer(String label, Emotion emotion, Map<String, Double> probabilities, String generated) implements EmotionResult {}

    @Test
    void scoreModeWritesTheEmotionAndProbabilitiesToSixDecimals() {
        Map<String, Double> p = new TreeMap<>();
        for (String label : Emotion.labels()) {
            p.put(label, 0.01);
        }
        p.put("awe", 0.93123456789);
        p.put("fear", 0.0000004);
        String json = EmotionJson.write(JSON.createObjectNode(), new Answer("awe", Emotion.AWE, p, null), "calm light").toString();
        assertThat(json).startsWith("{\"emotion\":\"awe\",\"probabilities\":{\"amusement\":0.01,\"anger\":0.01,\"awe\":0.931235,")
                .contains("\"fear\":0.0,").endsWith("},\"explanation\":\"calm light\"}");
    }

    @Test
    void generateModeWritesTheAnswerAndFlagsOneOutsideTheLabels() {
        String json = EmotionJson.write(JSON.createObjectNode(), new Answer("joy", null, Map.of(), "Predict emotion: joy"), null).toString();
        assertThat(json).isEqualTo("{\"emotion\":\"joy\",\"outside_labels\":true,\"generated\":\"Predict emotion: joy\"}");
    }

    @Test
    void aFailureHasANullEmotionAndTheError() {
        assertThat(EmotionJson.writeError(JSON.createObjectNode(), "unreadable image").toString())
                .isEqualTo("{\"emotion\":null,\"error\":\"unreadable image\"}");
    }
}
