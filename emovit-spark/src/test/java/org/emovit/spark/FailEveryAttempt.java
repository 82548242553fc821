package org.emovit.spark;

import java.util.Iterator;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;

/**
 * Test-only failure that Spark's retries cannot mend: every attempt of partition 0 passes some rows on (so the
 * writer has started a file) and then throws, so the job fails as a job stopped midway does.
 */
final class FailEveryAttempt implements MapPartitionsFunction<Row, Row> {
    private final int rowsBeforeFailing;

    FailEveryAttempt(int rowsBeforeFailing) {
        this.rowsBeforeFailing = rowsBeforeFailing;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        boolean fail = org.apache.spark.TaskContext.getPartitionId() == 0;
        return new Iterator<>() {
            int passed;

            @Override
            public boolean hasNext() {
                if (fail && passed == rowsBeforeFailing) {
                    throw new IllegalStateException("injected failure after " + passed + " rows");
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
