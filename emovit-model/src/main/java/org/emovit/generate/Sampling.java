package org.emovit.generate;

import java.io.Serializable;

/**
 * Sampling settings (what an OpenAI request's temperature, top_p and seed ask for): the next token is drawn from
 * softmax(scores / temperature) restricted to the smallest set of tokens whose probability reaches topP.
 *
 * @param temperature > 0 (0 is greedy decoding: use no Sampling at all)
 * @param topP        in (0, 1]
 * @param seed        every row of a batch draws from its own generator seeded with this, so a request's answer
 *                    does not depend on which other requests share its batch
 */
public record Sampling(double temperature, double topP, long seed) implements Serializable {
    public Sampling {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be > 0 to sample, not " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], not " + topP);
        }
    }
}
