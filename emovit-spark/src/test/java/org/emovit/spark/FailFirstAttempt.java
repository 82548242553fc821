package org.emovit.spark;

import java.util.Iterator;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;

/**
 * Test-only failure: the first attempt of partition 0 passes some rows on (so the writer has started a file) and
 * then throws; later attempts pass everything. Local mode runs tasks in this JVM, so a static counter sees them.
 */
final class FailFirstAttempt implements MapPartitionsFunction<Row, Row> {
    static final AtomicInteger FAILURES = new AtomicInteger();
    private final int rowsBeforeFailing;

    FailFirstAttempt(int rowsBeforeFailing) {
        this.rowsBeforeFailing = rowsBeforeFailing;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        boolean fail = task.partitionId() == 0 && task.attemptNumber() == 0;
        return new Iterator<>() {
            int passed;

            @Override
            public boolean hasNext() {
                if (fail && passed == rowsBeforeFailing) {
                    FAILURES.incrementAndGet();
                    throw new IllegalStateException("injected failure of the first attempt after " + passed + " rows");
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
