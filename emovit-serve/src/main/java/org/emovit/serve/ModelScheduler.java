package org.emovit.serve;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.emovit.api.EmoVit;
import org.emovit.attribution.HeatmapRequest;
import org.emovit.attribution.MapPass;
import org.emovit.attribution.PatchMap;
import org.emovit.generate.GenerationConfig;
import org.emovit.generate.DecodingBatch;
import org.emovit.image.RgbImage;

/**
 * Serves the model's requests as vLLM's engine does, in three parts that each do one job: a {@link SchedulePlanner}
 * that decides what runs next, a {@link ModelRunner} that calls the model, and an {@link OutputProcessor} that
 * feeds rows their tokens and delivers answers. This class holds the waiting queue and runs the loop on the model's
 * one thread: at every token boundary it drops requests whose caller left or whose deadline passed, asks the
 * planner, computes the heat map or runs the classifications it chose (between two steps), lets the generations it
 * chose join the running batch, and runs one decoding step. A classification that asked for a heat map queues it as
 * work of its own, so that the planner interleaves maps with decoding steps, one piece of one map per step at most. Generations — chat answers and the explanations of classifications alike —
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
    private long lastStepEnd;   // when the last decoding step ended, while rows run on from it; 0: none do
    private int stallsSinceStep;   // heat maps and classification passes run since the last decoding step
    private long stallNanosSinceStep;   // and their time
    private final PassCosts costs = new PassCosts();

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
            List<Job.Heatmap> heatmap = new ArrayList<>();
            List<Job.Classify> classify = new ArrayList<>();
            List<Job.Generate> join = new ArrayList<>();
            if (!nextWork(heatmap, classify, join)) {
                break;
            }
            heatmap.forEach(this::runHeatmap);
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
    private boolean nextWork(List<Job.Heatmap> heatmap, List<Job.Classify> classify, List<Job.Generate> join) {
        lock.lock();
        try {
            while (true) {
                dropInadmissible();
                List<Job> jobs = new ArrayList<>(waiting);
                // shutting down: what waits runs now, as if it had waited long enough for a fuller batch
                long now = accepting ? System.nanoTime() : Long.MAX_VALUE / 2;
                SchedulePlanner.Plan plan = planner.plan(seen(jobs), running.size(), now, costs.imagesPerMapPiece(settings.maxBatch()));
                if (!plan.idle() || !running.isEmpty()) {
                    plan.heatmap().forEach(i -> heatmap.add((Job.Heatmap) jobs.get(i)));
                    plan.classify().forEach(i -> classify.add((Job.Classify) jobs.get(i)));
                    plan.join().forEach(i -> join.add((Job.Generate) jobs.get(i)));
                    waiting.removeAll(heatmap);
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
                    : j instanceof Job.Heatmap ? SchedulePlanner.Waiting.heatmap(arrivedAt) : SchedulePlanner.Waiting.generation(arrivedAt));
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
                discard(j);
            } else if (now - j.deadlineNanos() > 0) {
                it.remove();
                discard(j);
                output.fail(j, ApiException.deadline(settings.timeout().toMillis()));
            } else if (j instanceof Job.Generate g && g.row().finished()) {
                it.remove();
                output.complete(g, 0);   // its client left while it waited: answered as cancelled without a model pass
            }
        }
    }

    /** A dropped map under way frees what its pass holds (on the model's thread, which made it). */
    private static void discard(Job j) {
        if (j instanceof Job.Heatmap h) {
            h.pass().close();
        }
    }

    /**
     * A classification pass (between two decoding steps). Heat maps asked for queue as work of their own and
     * explanations as generations, both ahead of new requests; the rest are answered.
     */
    private void runClassify(List<Job.Classify> jobs) {
        inPass = running.size() + jobs.size();
        stallsSinceStep++;
        long start = System.nanoTime();
        try {
            List<EmoVit.Result> results = runner.classify(jobs);
            long took = System.nanoTime() - start;
            stallNanosSinceStep += took;
            metrics.batch("classify", jobs.size(), took);
            costs.classified(jobs.size(), took);
            metrics.images(jobs.size());
            List<Job> next = new ArrayList<>();
            List<Job.Classify> answered = new ArrayList<>();
            List<EmoVit.Result> answers = new ArrayList<>();
            for (int i = 0; i < jobs.size(); i++) {
                Job.Classify job = jobs.get(i);
                // no map without an emotion to map (a generated answer outside the 8, none named): answered as is
                MapPass pass = job.heatmap() == null ? null : runner.heatmap(job, results.get(i));
                if (pass != null) {
                    next.add(new Job.Heatmap(job, results.get(i), pass));
                } else {
                    answered.add(job);
                    answers.add(results.get(i));
                }
            }
            next.addAll(output.classified(answered, answers, Collections.nCopies(answered.size(), null)));
            continueFirst(next);
        } catch (RuntimeException | Error e) {
            failAll(jobs, e);
        } finally {
            inPass = running.size();
        }
    }

    /**
     * One piece of a heat map (a Grad-CAM map: the forward pass, then the backward pass one layer a piece, the LLM's
     * then the Q-Former's): a running stream waits for one piece, not a whole map. A map under way
     * goes back to the head of the queue until it is done; one that fails fails its request alone.
     */
    private void runHeatmap(Job.Heatmap job) {
        inPass = running.size() + 1;
        stallsSinceStep++;
        long start = System.nanoTime();
        try {
            boolean done = runner.advance(job.pass());
            long took = System.nanoTime() - start;
            stallNanosSinceStep += took;
            costs.mapPiece(took);
            if (!done) {
                continueFirst(List.of(job));
                return;
            }
            PatchMap map = job.pass().map();
            metrics.batch("heatmap", 1, job.pass().nanos());   // the whole map: its pieces' time
            job.pass().close();
            continueFirst(output.classified(List.of(job.job()), List.of(job.classified()), Collections.singletonList(map)));
        } catch (RuntimeException | OutOfMemoryError e) {
            job.pass().close();
            output.fail(job, ApiException.internal("the heat map failed: " + org.emovit.core.Errors.firstLine(e)));
        } finally {
            inPass = running.size();
        }
    }

    /** Work that continues accepted requests (maps, explanations) waits ahead of new requests, in this order. */
    private void continueFirst(List<? extends Job> jobs) {
        lock.lock();
        try {
            for (int i = jobs.size() - 1; i >= 0; i--) {
                waiting.addFirst(jobs.get(i));
            }
        } finally {
            lock.unlock();
        }
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
            long end = System.nanoTime();
            metrics.decodeStep(tokens.length, end - start);
            if (lastStepEnd != 0) {
                // what the rows that ran on waited between two tokens
                metrics.decodeGap(end - lastStepEnd, stallsSinceStep, stallNanosSinceStep);
            }
            stallsSinceStep = 0;
            stallNanosSinceStep = 0;
            int[] leaving = output.stepped(tokens, running, runner::tokens);
            runner.leave(leaving);
            for (int i = leaving.length - 1; i >= 0; i--) {
                running.remove(leaving[i]);
            }
            lastStepEnd = running.isEmpty() ? 0 : end;
        } catch (RuntimeException | Error e) {
            lastStepEnd = 0;
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
