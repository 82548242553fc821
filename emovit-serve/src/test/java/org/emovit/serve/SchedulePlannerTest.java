package org.emovit.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.emovit.api.EmoVit;
import org.emovit.serve.SchedulePlanner.Plan;
import org.emovit.serve.SchedulePlanner.Waiting;
import org.junit.jupiter.api.Test;

/** The planner's decisions, without a model: who runs, who joins, who waits and for how long. */
class SchedulePlannerTest {
    static final long MS = 1_000_000L;
    final SchedulePlanner planner = new SchedulePlanner(4, 5 * MS);

    static Waiting score(long at) {
        return Waiting.classification(EmoVit.Mode.SCORE, at);
    }

    static Waiting generate(long at) {
        return Waiting.generation(at);
    }

    @Test
    void idleWithFewerThanABatchWaitsUntilTheOldestHasWaitedMaxWait() {
        Plan p = planner.plan(List.of(score(0), score(1 * MS)), 0, 2 * MS);
        assertThat(p.idle()).isTrue();
        assertThat(p.waitNanos()).isEqualTo(3 * MS);
        Plan later = planner.plan(List.of(score(0), score(1 * MS)), 0, 5 * MS);
        assertThat(later.classify()).containsExactly(0, 1);
        assertThat(later.join()).isEmpty();
    }

    @Test
    void idleWithAFullBatchRunsAtOnceAndTakesNoMoreThanMaxBatch() {
        Plan p = planner.plan(List.of(score(0), score(0), score(0), score(0), score(0)), 0, 0);
        assertThat(p.classify()).containsExactly(0, 1, 2, 3);
        assertThat(p.waitNanos()).isZero();
    }

    @Test
    void onlyTheOldestClassificationsModeRunsInOnePass() {
        List<Waiting> w = List.of(Waiting.classification(EmoVit.Mode.GENERATE, 0), score(0), Waiting.classification(EmoVit.Mode.GENERATE, 0));
        assertThat(planner.plan(w, 0, 10 * MS).classify()).containsExactly(0, 2);
    }

    @Test
    void idleTheOldestRequestsKindGoesFirst() {
        List<Waiting> w = List.of(generate(0), score(0), generate(0));
        Plan p = planner.plan(w, 0, 10 * MS);
        assertThat(p.join()).containsExactly(0, 2);
        assertThat(p.classify()).isEmpty();
    }

    @Test
    void atATokenBoundaryClassificationsRunAndGenerationsJoinWithoutWaiting() {
        List<Waiting> w = List.of(generate(9 * MS), score(9 * MS), generate(9 * MS));
        Plan p = planner.plan(w, 1, 9 * MS);
        assertThat(p.classify()).containsExactly(1);
        assertThat(p.join()).containsExactly(0, 2);
        assertThat(p.waitNanos()).isZero();
    }

    @Test
    void aFullBatchTakesNoJoinersButStillRunsClassifications() {
        Plan p = planner.plan(List.of(generate(0), score(0)), 4, 0);
        assertThat(p.join()).isEmpty();
        assertThat(p.classify()).containsExactly(1);
        assertThat(planner.plan(List.of(generate(0), generate(0), generate(0)), 2, 0).join()).containsExactly(0, 1);
    }

    @Test
    void nothingWaitingNothingToDo() {
        Plan p = planner.plan(List.of(), 0, 0);
        assertThat(p.idle()).isTrue();
        assertThat(p.waitNanos()).isZero();
    }
}
