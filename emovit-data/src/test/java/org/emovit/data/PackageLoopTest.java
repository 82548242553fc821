package org.emovit.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The data set's package ({@code org.emovit.data}: EmoSet, work folder, the stages' shared types) knows nothing of the
 * LLM stage ({@code data.llm}) or of the chain that runs every stage ({@code data.pipeline}), which both build on it:
 * no package loop.
 */
class PackageLoopTest {
    @Test
    void theDataPackageDependsOnNeitherTheLlmStageNorThePipeline() throws Exception {
        List<Path> sources;
        try (Stream<Path> s = Files.list(Path.of("src/main/java/org/emovit/data"))) {
            sources = s.filter(p -> p.toString().endsWith(".java")).toList();
        }
        assertThat(sources).hasSizeGreaterThan(10);
        for (Path p : sources) {
            assertThat(Files.readString(p)).as(p.toString()).doesNotContain("org.emovit.data.llm").doesNotContain("org.emovit.data.pipeline");
        }
    }
}
