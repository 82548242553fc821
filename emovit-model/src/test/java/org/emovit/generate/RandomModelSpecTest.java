package org.emovit.generate;

import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.api.EmbeddedModel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.emovit.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A config without a checkpoint: random weights at its sizes, with the embedded tokenizers (what a soak at 7B widths uses). */
class RandomModelSpecTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path config(Path dir, int llmLayers, int vocab) throws Exception {
        ObjectNode c = (ObjectNode) JSON.readTree(EmbeddedModel.directory().resolve("config.json").toFile());
        ((ObjectNode) c.get("text_config")).put("num_hidden_layers", llmLayers).put("hidden_size", 64).put("head_dim", 16)
                .put("vocab_size", vocab);
        Path file = dir.resolve("sizes.json");
        Files.writeString(file, c.toString());
        return file;
    }

    static ModelSpec spec(Path config) {
        return new ModelSpec(null, null, null, null, "vicuna7b", config.toString(), null, null, "f32", "cpu");
    }

    @Test
    void randomWeightsAtTheConfigsSizesClassifyWithTheEmbeddedTokenizers(@TempDir Path dir) throws Exception {
        ModelSpec s = spec(config(dir, 3, 514));
        assertThat(s.isRandom()).isTrue();
        assertThat(s.displayName()).isEqualTo("emovit-random-sizes");
        try (EmoVit m = s.open()) {
            assertThat(m.model().config().text().numLayers()).isEqualTo(3);
            assertThat(m.model().config().text().hiddenSize()).isEqualTo(64);
            RgbImage gray = new RgbImage(40, 30, new byte[40 * 30 * 3]);
            EmoVit.Result r = m.classify(List.of(gray), EmoVit.Mode.SCORE, GenerationConfig.emovit()).get(0);
            assertThat(r.probabilities()).hasSize(8);
        }
    }

    @Test
    void aVocabularyOtherThanTheTokenizersIsRefusedNamingTheKey(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> spec(config(dir, 1, 32000)).load()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sizes.json").hasMessageContaining("text_config.vocab_size must be 514");
    }
}
