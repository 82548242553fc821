package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The front doors (the commands users run, the server, Spark, the data stages, their options) go through EmoVit and
 * never touch the model's tensors, caches or weights directly: Ops, Tensors, the KV caches, StateDict and Owned
 * are for emovit-model itself, training (emovit-train) and the developer tools (emovit-devtools).
 */
class ModelInternalsTest {
    static final Pattern INTERNAL = Pattern.compile("org\\.emovit\\.model\\.(Ops|Tensors|KvCache|RowSlotCache|AttentionCache|StateDict|Owned)\\b");

    @Test
    void noFrontDoorImportsTheModelsInternals() throws Exception {
        int read = 0;
        for (String module : List.of("emovit-cli", "emovit-serve", "emovit-spark", "emovit-data", "emovit-options")) {
            Path sources = Path.of("..", module, "src", "main", "java");
            try (Stream<Path> files = Files.walk(sources)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    assertThat(INTERNAL.matcher(Files.readString(f)).find()).as("%s uses the model's internals", f).isFalse();
                    read++;
                }
            }
        }
        assertThat(read).as("source files read").isGreaterThan(50);
    }
}
