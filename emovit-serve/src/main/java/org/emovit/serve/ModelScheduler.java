package org.emovit.serve;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.emovit.api.EmoVit;
import org.emovit.attribution.HeatmapRequest;
import org.emovit.attribution.PatchMap;
import org.emovit.generate.GenerationConfig;
import org.emovit.generate.DecodingBatch;
import org.emovit.image.RgbImage;

/**
 * Serves the model's requests as vLLM's engine does, in three parts that each do one job: a {@link SchedulePlanner}
 * that decides what runs next, a {@link ModelRunner} that calls the model, and an {@link OutputProcessor} that
 * feeds rows their tokens and delivers answers. This class holds the waiting queue and runs the loop on the model's
 * one thread: at every token boundary it drops requests whose caller left or whose deadline passed, asks the
 * planner, runs the classifications it chose (between two steps), lets the generations it chose join the running
 * batch, and runs one decoding step. Generations — chat answers and the explanations of classifications alike —
 * are batched continuously, each row with its own settings, leaving at its own end. Images are resized on the
 * callers' threads before they queue (the model's thread only normalises them), and callers get futures and never
 * block on libtorch.
 */
public final class ModelScheduler implements AutoCloseable {
    /** EmoVIT's classify --explain settings: its decoding defaults, at most 80 tokens. */
    public static final GenerationConfig EXPLANATION = GenerationConfig.emovit().withNumBeams(1).withMaxNewTokens(80);

    private final EmoVit emoVit;
    private final ServerSettings settings;
    private final ServeMetrics metrics;
    private final SchedulePlanner planner;
    private final ModelRunner runner;
    private final OutputProcessor output;
    private final ArrayDeque<Job> waiting = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final List<OutputProcessor.Running> running = new ArrayList<>();   // the batch's rows, in joining order
    private final Thread worker;
    private boolean accepting = true;
    private volatile int inPass;

    /**
     * @param callbacks where answers are handed over: whatever the callers chain on them (writing a response to a slow
     *                  client) then runs there, never on the model's thread
     */
    public ModelScheduler(EmoVit emoVit, ServerSettings settings, ServeMetrics metrics, Executor callbacks) {
        this.emoVit = emoVit;
        this.settings = settings;
        this.metrics = metrics;
        this.planner = new SchedulePlanner(settings.maxBatch(), TimeUnit.MILLISECONDS.toNanos(settings.maxWaitMs()));
        this.runner = new ModelRunner(emoVit);
        this.output = new OutputProcessor(emoVit, metrics, callbacks);
        metrics.queueDepth(this::queueDepth);
        metrics.kvCache(runner::cacheLength, runner::cacheBytes);
        this.worker = new Thread(this::work, "emovit-model");
        worker.start();
    }

    /** @param heatmap the heat map to compute with the classification, on the model's thread, or null */
    public CompletableFuture<Classification> classify(RgbImage image, EmoVit.Mode mode, boolean explain, HeatmapRequest heatmap) {
        CompletableFuture<Classification> f = timed(new CompletableFuture<>());
        submit(new Job.Classify(resized(image), mode, explain, heatmap, deadline(), f));
        return f;
    }

    public CompletableFuture<Generation> generate(RgbImage image, String prompt, GenerationConfig config, List<String> stops, TokenSink sink) {
        CompletableFuture<Generation> f = timed(new CompletableFuture<>());
        long deadline = deadline();
        GenerationRow row = new GenerationRow(config.maxNewTokens(), stops, emoVit.processor().llmTokenizer().eosId(),
                emoVit.processor()::decode, sink, deadline);
        submit(new Job.Generate(resized(image), prompt, config, row, deadline, f));
        return f;
    }

    /** Why the image evokes this label, streamed into the sink: the explanation classify's explain=true gives. */
    public CompletableFuture<Generation> explain(RgbImage image, String label, TokenSink sink) {
        CompletableFuture<Generation> f = timed(new CompletableFuture<>());
        submit(OutputProcessor.explanation(emoVit, resized(image), label, sink, deadline(), f));
        return f;
    }

    /**
     * The image at the model's input size, on the caller's thread: the model's thread then only normalises it (a
     * resize to the same size is a copy), so an image's decoding and resizing never delay the running rows' tokens.
     */
    private RgbImage resized(RgbImage image) {
        return emoVit.processor().transform().resize(image);
    }

    /** Requests waiting for the model (not those in the pass now running). */
    public int queueDepth() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    /** Requests in the model now: the running batch's rows and the classification pass under way. */
    public int running() {
        return inPass;
    }

    /** The caller's answer fails with a TimeoutException at the deadline; the worker then skips the job if not begun. */
    private <T> CompletableFuture<T> timed(CompletableFuture<T> f) {
        return f.orTimeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    private long deadline() {
        return System.nanoTime() + settings.timeout().toNanos();
    }

    private void submit(Job job) {
        lock.lock();
        try {
            if (!accepting) {
                throw ApiException.unavailable("the server is shutting down");
            }
            if (waiting.size() >= settings.maxQueue()) {
                throw ApiException.queueFull(1);
            }
            waiting.addLast(job);
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The model's thread: plan, run, deliver, until shut down with nothing left. */
    private void work() {
        while (true) {
            List<Job.Classify> classify = new ArrayList<>();
            List<Job.Generate> join = new ArrayList<>();
            if (!nextWork(classify, join)) {
                break;
            }
            if (!classify.isEmpty()) {
                runClassify(classify);
            }
            if (!join.isEmpty()) {
                runJoin(join);
            }
            if (!running.isEmpty()) {
                runStep();
            }
        }
        runner.close();
    }

    /**
     * Takes what the planner says runs now into the two lists; waits while nothing does and no row runs.
     *
     * @return false once shut down with nothing waiting or running
     */
    private boolean nextWork(List<Job.Classify> classify, List<Job.Generate> join) {
        lock.lock();
        try {
            while (true) {
                dropInadmissible();
                List<Job> jobs = new ArrayList<>(waiting);
                // shutting down: what waits runs now, as if it had waited long enough for a fuller batch
                long now = accepting ? System.nanoTime() : Long.MAX_VALUE / 2;
                SchedulePlanner.Plan plan = planner.plan(seen(jobs), running.size(), now);
                if (!plan.idle() || !running.isEmpty()) {
                    plan.classify().forEach(i -> classify.add((Job.Classify) jobs.get(i)));
                    plan.join().forEach(i -> join.add((Job.Generate) jobs.get(i)));
                    waiting.removeAll(classify);
                    waiting.removeAll(join);
                    return true;
                }
                if (waiting.isEmpty() && !accepting) {
                    return false;
                }
                if (plan.waitNanos() > 0) {
                    arrived.awaitNanos(plan.waitNanos());
                } else {
                    arrived.await();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !running.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** The waiting jobs as the planner sees them (a job arrived a timeout before its deadline). */
    private List<SchedulePlanner.Waiting> seen(List<Job> jobs) {
        long timeout = settings.timeout().toNanos();
        List<SchedulePlanner.Waiting> seen = new ArrayList<>();
        for (Job j : jobs) {
            long arrivedAt = j.deadlineNanos() - timeout;
            seen.add(j instanceof Job.Classify c ? SchedulePlanner.Waiting.classification(c.mode(), arrivedAt)
                    : SchedulePlanner.Waiting.generation(arrivedAt));
        }
        return seen;
    }

    /** Waiting requests that will not run: their caller gave up, their deadline passed, or their client left. */
    private void dropInadmissible() {
        long now = System.nanoTime();
        for (Iterator<Job> it = waiting.iterator(); it.hasNext(); ) {
            Job j = it.next();
            if (j.result().isDone()) {
                it.remove();   // the caller has already given up (its own timeout)
            } else if (now - j.deadlineNanos() > 0) {
                it.remove();
                output.fail(j, ApiException.deadline(settings.timeout().toMillis()));
            } else if (j instanceof Job.Generate g && g.row().finished()) {
                it.remove();
                output.complete(g, 0);   // its client left while it waited: answered as cancelled without a model pass
            }
        }
    }

    /** A classification pass (between two decoding steps); explanations asked for queue as generations, first. */
    private void runClassify(List<Job.Classify> jobs) {
        inPass = running.size() + jobs.size();
        long start = System.nanoTime();
        try {
            List<EmoVit.Result> results = runner.classify(jobs);
            metrics.batch("classify", jobs.size(), System.nanoTime() - start);
            metrics.images(jobs.size());
            Mapped mapped = heatmaps(jobs, results);
            List<Job.Generate> explanations = output.classified(mapped.jobs(), mapped.results(), mapped.maps());
            lock.lock();
            try {
                for (int i = explanations.size() - 1; i >= 0; i--) {
                    waiting.addFirst(explanations.get(i));   // they continue accepted requests: ahead of new ones
                }
            } finally {
                lock.unlock();
            }
        } catch (RuntimeException | Error e) {
            failAll(jobs, e);
        } finally {
            inPass = running.size();
        }
    }

    /** Classified jobs still to answer, with their results and heat maps (null where none), in step. */
    private record Mapped(List<Job.Classify> jobs, List<EmoVit.Result> results, List<PatchMap> maps) {}

    /**
     * The heat maps the classified jobs asked for, one image at a time (Grad-CAM is a backward pass per image). A map
     * that fails fails its request alone: it is answered with the error here and left out of what is returned.
     */
    private Mapped heatmaps(List<Job.Classify> jobs, List<EmoVit.Result> results) {
        Mapped out = new Mapped(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (int i = 0; i < jobs.size(); i++) {
            Job.Classify job = jobs.get(i);
            PatchMap map = null;
            if (job.heatmap() != null && !job.result().isDone()) {   // not for a caller who has given up
                long start = System.nanoTime();
                try {
                    map = runner.heatmap(job, results.get(i));
                    metrics.batch("heatmap", 1, System.nanoTime() - start);
                } catch (RuntimeException | OutOfMemoryError e) {
                    output.fail(job, ApiException.internal("the heat map failed: " + org.emovit.core.Errors.firstLine(e)));
                    continue;
                }
            }
            out.jobs().add(job);
            out.results().add(results.get(i));
            out.maps().add(map);
        }
        return out;
    }

    /** Generations join the running batch (their prefill is one model pass); a failure fails only them. */
    private void runJoin(List<Job.Generate> jobs) {
        long start = System.nanoTime();
        try {
            int[] prompts = runner.join(jobs);
            metrics.batch("generate", jobs.size(), System.nanoTime() - start);
            for (int i = 0; i < prompts.length; i++) {
                running.add(new OutputProcessor.Running(jobs.get(i), prompts[i]));
            }
        } catch (RuntimeException | Error e) {
            failAll(jobs, e);
            if (runner.rows() != running.size()) {
                failRunning(e);   // the batch is in an unknown state: its rows fail too
            }
        } finally {
            inPass = running.size();
        }
    }

    /** One decoding step: every row gets a token, finished rows are answered and leave. */
    private void runStep() {
        try {
            long start = System.nanoTime();
            long[] tokens = runner.step();
            metrics.decodeStep(tokens.length, System.nanoTime() - start);
            int[] leaving = output.stepped(tokens, running, runner::tokens);
            runner.leave(leaving);
            for (int i = leaving.length - 1; i >= 0; i--) {
                running.remove(leaving[i]);
            }
        } catch (RuntimeException | Error e) {
            failRunning(e);
        } finally {
            inPass = running.size();
        }
    }

    private void failRunning(Throwable e) {
        failAll(running.stream().map(OutputProcessor.Running::job).toList(), e);
        running.clear();
        try {
            runner.clear();
        } catch (RuntimeException | Error again) {
            // the batch is dropped either way; its rows were failed above
        }
    }

    private void failAll(List<? extends Job> jobs, Throwable e) {
        String m = org.emovit.core.Errors.firstLine(e);
        for (Job j : jobs) {
            output.fail(j, ApiException.internal("the model failed: " + m));
        }
    }

    /** Stops taking requests, finishes every one already accepted, and waits for the worker (at most the timeout). */
    @Override
    public void close() {
        lock.lock();
        try {
            accepting = false;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            worker.join(settings.timeout().toMillis() + 1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isAccepting() {
        lock.lock();
        try {
            return accepting;
        } finally {
            lock.unlock();
        }
    }
}
