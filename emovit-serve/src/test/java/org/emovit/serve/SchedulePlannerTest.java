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

    static Waiting heatmap(long at) {
        return Waiting.heatmap(at);
    }

    /** Issue 26, case 2: maps of several classified images ran back to back between two steps; now one per decision. */
    @Test
    void oneHeatMapAtATimeAheadOfClassificationsWhileGenerationsStillJoin() {
        List<Waiting> w = List.of(score(0), heatmap(1 * MS), generate(2 * MS), heatmap(1 * MS), score(3 * MS));
        Plan running = planner.plan(w, 1, 9 * MS);
        assertThat(running.heatmap()).containsExactly(1);
        assertThat(running.classify()).as("the rows wait for one map, not a map and a pass").isEmpty();
        assertThat(running.join()).containsExactly(2);
        Plan idle = planner.plan(w, 0, 0);   // nothing runs: the map goes at once, no batch wait
        assertThat(idle.heatmap()).containsExactly(1);
        assertThat(idle.waitNanos()).isZero();
        Plan after = planner.plan(List.of(score(0), score(3 * MS)), 1, 9 * MS);
        assertThat(after.heatmap()).isEmpty();
        assertThat(after.classify()).containsExactly(0, 1);
    }

    @Test
    void nothingWaitingNothingToDo() {
        Plan p = planner.plan(List.of(), 0, 0);
        assertThat(p.idle()).isTrue();
        assertThat(p.waitNanos()).isZero();
    }
}
