package org.emovit.spark;

import java.io.Serializable;
import org.emovit.generate.GenerationConfig;

/** {@link GenerationConfig} in a form Spark can ship to executors (the record itself is not Serializable). */
record Decoding(int numBeams, int maxNewTokens, int minNewTokens, double repetitionPenalty, double lengthPenalty)
        implements Serializable {

    static Decoding of(GenerationConfig g) {
        return new Decoding(g.numBeams(), g.maxNewTokens(), g.minNewTokens(), g.repetitionPenalty(), g.lengthPenalty());
    }

    GenerationConfig config() {
        return new GenerationConfig(numBeams, maxNewTokens, minNewTokens, repetitionPenalty, lengthPenalty);
    }
}
