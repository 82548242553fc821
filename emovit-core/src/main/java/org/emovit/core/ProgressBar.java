package org.emovit.core;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress line for long jobs: done/total, items per second, time left, failures. On a terminal it redraws
 * one line in place (at most 10 times a second); otherwise (a log file, CI) it prints a line every 10 seconds.
 */
public final class ProgressBar implements AutoCloseable {
    private final String task;
    private final long total;
    private final PrintStream out;
    private final boolean terminal = System.console() != null;
    private final long started = System.nanoTime();
    private long done;
    private long failed;
    private long lastPrint;

    public ProgressBar(String task, long total, PrintStream out) {
        this.task = task;
        this.total = total;
        this.out = out;
    }

    public synchronized void step(boolean itemFailed) {
        done++;
        if (itemFailed) {
            failed++;
        }
        long now = System.nanoTime();
        long interval = terminal ? 100_000_000L : 10_000_000_000L;
        if (now - lastPrint >= interval || done == total) {
            lastPrint = now;
            print(now);
        }
    }

    private void print(long now) {
        double seconds = (now - started) / 1e9;
        double rate = seconds > 0 ? done / seconds : 0;
        long left = rate > 0 ? Math.round((total - done) / rate) : -1;
        int width = 30;
        int filled = total == 0 ? width : (int) (width * done / total);
        String bar = "#".repeat(filled) + "-".repeat(width - filled);
        String line = String.format(Locale.ROOT, "%s [%s] %d/%d  %.2f/s  ETA %s%s", task, bar, done, total, rate,
                left < 0 ? "?" : String.format(Locale.ROOT, "%d:%02d:%02d", left / 3600, left / 60 % 60, left % 60),
                failed > 0 ? "  failed " + failed : "");
        if (terminal) {
            out.print("\r" + line);
        } else {
            out.println(line);
        }
        out.flush();
    }

    @Override
    public synchronized void close() {
        if (terminal) {
            out.println();
        }
        out.flush();
    }
}
