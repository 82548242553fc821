package org.emovit.data.llm;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs one task per item on a fixed number of daemon threads and waits for all of them. Interrupting the waiting
 * thread does not abandon the workers: it calls {@code onInterrupt} (which should make the tasks return early)
 * and keeps waiting, so that every request in flight is still recorded before the caller goes on.
 */
final class WorkerPool {
    private WorkerPool() {
    }

    /**
     * @return true when the calling thread was interrupted while waiting (its flag is then cleared: the caller
     *         sets it again once its files are closed, because file channels fail on an interrupted thread)
     */
    static <T> boolean runAll(String name, int threads, List<T> items, Consumer<T> task, Runnable onInterrupt) {
        AtomicInteger threadNo = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "emovit-" + name + "-" + threadNo.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        for (T item : items) {
            pool.execute(() -> task.accept(item));
        }
        pool.shutdown();
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(100, TimeUnit.MILLISECONDS)) {
                    return interrupted;
                }
            } catch (InterruptedException ie) {
                interrupted = true;
                onInterrupt.run();
            }
        }
    }
}
