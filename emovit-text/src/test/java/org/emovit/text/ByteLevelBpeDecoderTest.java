package org.emovit.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ByteLevelBpeDecoderTest {

    @Test
    void decodesGpt2ByteStandIns(@TempDir Path dir) throws Exception {
        // "Ġ" is GPT-2's stand-in for a space, "Ċ" for a newline; "Ã©" are the two bytes of "é"
        Path vocab = dir.resolve("vocab.json");
        Files.writeString(vocab, "{\"</s>\": 2, \"a\": 10, \"Ġcat\": 11, \"Ġcaf\": 12, \"Ã©\": 13, \"Ċ\": 14, \"!\": 15}");
        ByteLevelBpeDecoder d = ByteLevelBpeDecoder.load(vocab);
        assertThat(d.decode(new long[] {2, 10, 11, 15}, Set.of(2L))).isEqualTo("a cat!");
        assertThat(d.decode(new long[] {12, 13, 14}, Set.of())).isEqualTo(" café\n");
        assertThat(d.tokenId("Ċ")).isEqualTo(14);
    }
}
