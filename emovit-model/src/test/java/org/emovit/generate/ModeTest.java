package org.emovit.generate;

import org.emovit.api.EmoVit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ModeTest {

    @Test
    void scoreAndGenerateInAnyCase() {
        assertThat(EmoVit.Mode.parse("score", "--mode")).isEqualTo(EmoVit.Mode.SCORE);
        assertThat(EmoVit.Mode.parse("Generate", "--mode")).isEqualTo(EmoVit.Mode.GENERATE);
    }

    @Test
    void anythingElseIsOneLineNamingTheOption() {
        assertThatThrownBy(() -> EmoVit.Mode.parse("vote", "--mode")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--mode must be score or generate, not 'vote'");
    }
}
