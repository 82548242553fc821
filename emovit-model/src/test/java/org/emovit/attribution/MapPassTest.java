package org.emovit.attribution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import org.emovit.api.ModelSpec;
import org.emovit.core.Emotion;
import org.emovit.generate.DecodingBatch;
import org.emovit.generate.GenerationConfig;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Maps in pieces (issue 26): the server decodes its running streams' tokens and classifies other images between two
 * pieces of a map, on the same thread, and the map must come out as if computed at once.
 */
class MapPassTest {
    static EmoVit emoVit;
    static Attribution attribution;
    static RgbImage photo;
    static RgbImage gray;

    @BeforeAll
    static void open() {
        emoVit = ModelSpec.embedded().open();
        attribution = new Attribution(emoVit);
        photo = ImageDecoder.decode(EmbeddedModel.sample("photo.jpg"));
        gray = ImageDecoder.decode(EmbeddedModel.sample("gray.png"));
    }

    @AfterAll
    static void close() {
        emoVit.close();
    }

    @Test
    void gradCamRunsAPieceALayerAndWorkBetweenThemLeavesTheMapUnchanged() {
        Emotion e = Emotion.AWE;
        PatchMap whole = attribution.gradCam(photo, e);
        try (MapPass pass = attribution.pass(photo, e, PatchMap.Method.GRAD_CAM);
             DecodingBatch batch = emoVit.decodingBatch(GenerationConfig.emovit().withNumBeams(1).withMaxNewTokens(8))) {
            emoVit.join(batch, List.of(gray), List.of("What does this image evoke?"));
            int pieces = 0;
            boolean done;
            do {
                done = pass.advance();
                pieces++;
                // what the server's loop runs between two pieces: a decoding step, a classification pass
                batch.step();
                emoVit.classify(List.of(gray), EmoVit.Mode.SCORE, GenerationConfig.emovit());
            } while (!done);
            assertThat(pieces).as("the forward pass, then the tiny LLM's 2 layers and the Q-Former's 2, one each").isEqualTo(5);
            assertThat(pass.map().weights()).containsExactly(whole.weights());
            assertThat(pass.map().emotion()).isEqualTo(e);
            assertThat(pass.nanos()).isPositive();
            assertThat(pass.advance()).as("done stays done").isTrue();
        }
    }

    @Test
    void aPassClosedHalfWayGivesNoMapAndLeavesTheNextOneUnchanged() {
        Emotion e = Emotion.FEAR;
        PatchMap whole = attribution.gradCam(photo, e);
        MapPass pass = attribution.pass(photo, e, PatchMap.Method.GRAD_CAM);
        assertThat(pass.advance()).as("the forward pass").isFalse();
        assertThat(pass.advance()).as("the LLM's last layer: its input's gradient is held for the next").isFalse();
        pass.close();
        assertThatThrownBy(pass::advance).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        pass.close();   // twice is harmless
        assertThat(attribution.gradCam(photo, e).weights()).containsExactly(whole.weights());
    }

    @Test
    void theRolloutIsOnePiece() {
        try (MapPass pass = attribution.pass(photo, Emotion.AWE, PatchMap.Method.ROLLOUT)) {
            assertThat(pass.advance()).isTrue();
            assertThat(pass.map().weights()).containsExactly(attribution.rollout(photo, Emotion.AWE).weights());
        }
    }
}
