package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How many images a classification pass between two decoding steps may take: about one piece of a heat map's time. */
class PassCostsTest {
    static final long MS = 1_000_000L;

    @Test
    void unlimitedUntilBothKindsAreTimedThenWhatFitsInOneMap() {
        PassCosts costs = new PassCosts();
        assertThat(costs.imagesPerMapPiece(16)).isEqualTo(16);
        costs.classified(8, 400 * MS);
        assertThat(costs.imagesPerMapPiece(16)).as("no piece of a map timed: nothing to match").isEqualTo(16);
        costs.mapPiece(100 * MS);
        assertThat(costs.imagesPerMapPiece(16)).as("8 images cost 400 ms: 2 expected to cost 100").isEqualTo(2);
        costs.classified(2, 150 * MS);   // the fixed part of a pass: 2 cost more than expected
        assertThat(costs.imagesPerMapPiece(16)).as("then 1, expected from 2's time").isEqualTo(1);
        costs.classified(1, 130 * MS);
        assertThat(costs.imagesPerMapPiece(16)).as("even one image costs more than a piece: still 1").isEqualTo(1);
    }

    @Test
    void cheapClassificationsKeepTheFullBatch() {
        PassCosts costs = new PassCosts();
        costs.mapPiece(500 * MS);
        costs.classified(16, 200 * MS);
        assertThat(costs.imagesPerMapPiece(16)).isEqualTo(16);
    }
}
