package org.emovit.spark;

import java.util.Iterator;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;

/**
 * Test-only failure of partition 0: an attempt passes some rows on (so the writer has started a file) and then
 * throws. {@link #firstAttempt} fails only the first attempt, which Spark's retry mends; {@link #everyAttempt} fails
 * them all, so the job fails as a job stopped midway does. Local mode runs tasks in this JVM, so a static counter
 * sees them.
 */
final class InjectedFailure implements MapPartitionsFunction<Row, Row> {
    static final AtomicInteger FAILURES = new AtomicInteger();
    private final int rowsBeforeFailing;
    private final boolean everyAttempt;

    private InjectedFailure(int rowsBeforeFailing, boolean everyAttempt) {
        this.rowsBeforeFailing = rowsBeforeFailing;
        this.everyAttempt = everyAttempt;
    }

    static InjectedFailure firstAttempt(int rowsBeforeFailing) {
        return new InjectedFailure(rowsBeforeFailing, false);
    }

    static InjectedFailure everyAttempt(int rowsBeforeFailing) {
        return new InjectedFailure(rowsBeforeFailing, true);
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        boolean fail = task.partitionId() == 0 && (everyAttempt || task.attemptNumber() == 0);
        return new Iterator<>() {
            int passed;

            @Override
            public boolean hasNext() {
                if (fail && passed == rowsBeforeFailing) {
                    FAILURES.incrementAndGet();
                    throw new IllegalStateException("injected failure of attempt " + task.attemptNumber() + " after " + passed + " rows");
                }
                return rows.hasNext();
            }

            @Override
            public Row next() {
                passed++;
                return rows.next();
            }
        };
    }
}
