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
import org.emovit.generate.EmoVit;
import org.emovit.generate.GenerationConfig;
import org.emovit.generate.DecodingBatch;
import org.emovit.image.RgbImage;

/**
 * The only code that touches the model: one worker thread takes waiting requests, batches those that can share a
 * pass (classifications of one mode; generations with the same decoding settings) up to max-batch, waiting at most
 * max-wait-ms for more to arrive, and runs them through {@link EmoVit}. Callers get futures and never block on
 * libtorch. Generations are batched continuously ({@link #runGenerate}): waiting ones join the running batch at
 * token boundaries and each row leaves, its answer sent, at its own end (EOS, stop sequence, token limit, deadline,
 * client gone), so nobody waits for a whole batch; classifications waiting meanwhile run between two tokens.
 */
public final class ModelScheduler implements AutoCloseable {
    /** EmoVIT's classify --explain settings: its decoding defaults, at most 80 tokens. */
    public static final GenerationConfig EXPLANATION = GenerationConfig.emovit().withNumBeams(1).withMaxNewTokens(80);

    private final EmoVit emoVit;
    private final ServerSettings settings;
    private final ServeMetrics metrics;
    private final Executor callbacks;
    private final ArrayDeque<Job> waiting = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final Thread worker;
    private boolean accepting = true;
    private volatile int running;

    /**
     * @param callbacks where answers are handed over: whatever the callers chain on them (writing a response to a slow
     *                  client) then runs there, never on the model's thread
     */
    public ModelScheduler(EmoVit emoVit, ServerSettings settings, ServeMetrics metrics, Executor callbacks) {
        this.emoVit = emoVit;
        this.settings = settings;
        this.metrics = metrics;
        this.callbacks = callbacks;
        metrics.queueDepth(this::queueDepth);
        this.worker = new Thread(this::work, "emovit-model");
        worker.start();
    }

    public CompletableFuture<Classification> classify(RgbImage image, EmoVit.Mode mode, boolean explain) {
        CompletableFuture<Classification> f = timed(new CompletableFuture<>());
        submit(new Job.Classify(image, mode, explain, deadline(), f));
        return f;
    }

    public CompletableFuture<Generation> generate(RgbImage image, String prompt, GenerationConfig config, List<String> stops, TokenSink sink) {
        CompletableFuture<Generation> f = timed(new CompletableFuture<>());
        long deadline = deadline();
        GenerationRow row = new GenerationRow(config.maxNewTokens(), stops, emoVit.processor().llmTokenizer().eosId(),
                emoVit.processor()::decode, sink, deadline);
        submit(new Job.Generate(image, prompt, config, row, deadline, f));
        return f;
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

    /** Requests in the model pass now running. */
    public int running() {
        return running;
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

    private void work() {
        List<Job> batch;
        while ((batch = nextBatch()) != null) {
            if (batch.get(0) instanceof Job.Classify) {
                classifyOrFail(batch.stream().map(Job.Classify.class::cast).toList());
            } else {
                runGenerate(batch.stream().map(Job.Generate.class::cast).toList());
            }
        }
    }

    /** Runs a classification batch (also between two generation steps); a failure fails these jobs only. */
    private void classifyOrFail(List<Job.Classify> jobs) {
        int before = running;
        running = before + jobs.size();
        try {
            runClassify(jobs);
        } catch (RuntimeException | Error e) {
            failAll(jobs, e);
        } finally {
            running = before;
        }
    }

    private void failAll(List<? extends Job> jobs, Throwable e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
        for (Job j : jobs) {
            fail(j, ApiException.internal("the model failed: " + m));
        }
    }

    /** The next jobs to run together, or null once shut down and drained. */
    private List<Job> nextBatch() {
        lock.lock();
        try {
            while (true) {
                while (waiting.isEmpty()) {
                    if (!accepting) {
                        return null;
                    }
                    arrived.awaitUninterruptibly();
                }
                Object key = waiting.peekFirst().batchKey();
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.maxWaitMs());
                long left;
                while (accepting && count(key) < settings.maxBatch() && (left = until - System.nanoTime()) > 0) {
                    try {
                        arrived.awaitNanos(left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                List<Job> batch = take(key);
                if (!batch.isEmpty()) {
                    return batch;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private int count(Object key) {
        int n = 0;
        for (Job j : waiting) {
            n += j.batchKey().equals(key) ? 1 : 0;
        }
        return n;
    }

    /** Removes up to max-batch jobs with this key, in arrival order; those already past their deadline fail. */
    private List<Job> take(Object key) {
        List<Job> batch = new ArrayList<>();
        long now = System.nanoTime();
        for (Iterator<Job> it = waiting.iterator(); it.hasNext() && batch.size() < settings.maxBatch(); ) {
            Job j = it.next();
            if (!j.batchKey().equals(key)) {
                continue;
            }
            it.remove();
            if (admissible(j, now)) {
                batch.add(j);
            }
        }
        return batch;
    }

    /** Whether a job taken from the queue is still to run: not if its caller gave up or its deadline passed (it fails). */
    private boolean admissible(Job j, long now) {
        if (j.result().isDone()) {
            return false;   // the caller has already given up (its own timeout)
        }
        if (now - j.deadlineNanos() > 0) {
            fail(j, ApiException.deadline(settings.timeout().toMillis()));
            return false;
        }
        if (j instanceof Job.Generate g && g.row().finished()) {
            complete(g, 0);   // its client left while it waited: answered as cancelled without a model pass
            return false;
        }
        return true;
    }

    /**
     * Waiting generations with this key that may join the running batch (at most limit), in arrival order. Joining
     * stops at a generation with other settings: it goes next, once the rows now running end, and is not overtaken.
     * Classifications are skipped here: they run between two steps instead.
     */
    private List<Job.Generate> takeJoiners(Object key, int limit) {
        List<Job.Generate> out = new ArrayList<>();
        lock.lock();
        try {
            long now = System.nanoTime();
            for (Iterator<Job> it = waiting.iterator(); it.hasNext() && out.size() < limit; ) {
                Job j = it.next();
                if (j instanceof Job.Classify) {
                    continue;
                }
                if (!j.batchKey().equals(key)) {
                    break;
                }
                it.remove();
                if (admissible(j, now)) {
                    out.add((Job.Generate) j);
                }
            }
        } finally {
            lock.unlock();
        }
        return out;
    }

    /** The waiting classifications of the oldest one's mode (up to max-batch), without waiting for more. */
    private List<Job.Classify> takeClassifications() {
        lock.lock();
        try {
            for (Job j : waiting) {
                if (j instanceof Job.Classify) {
                    return take(j.batchKey()).stream().map(Job.Classify.class::cast).toList();
                }
            }
            return List.of();
        } finally {
            lock.unlock();
        }
    }

    private void runClassify(List<Job.Classify> jobs) {
        long start = System.nanoTime();
        List<RgbImage> images = jobs.stream().map(Job.Classify::image).toList();
        List<EmoVit.Result> results = emoVit.classify(images, jobs.get(0).mode(), GenerationConfig.emovit());
        List<RgbImage> toExplain = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            if (jobs.get(i).explain()) {
                toExplain.add(images.get(i));
                labels.add(results.get(i).label());
            }
        }
        List<String> explanations = toExplain.isEmpty() ? List.of() : emoVit.explain(toExplain, labels, EXPLANATION);
        metrics.batch("classify", jobs.size(), System.nanoTime() - start);
        metrics.images(jobs.size());
        int e = 0;
        for (int i = 0; i < jobs.size(); i++) {
            String explanation = jobs.get(i).explain() ? explanations.get(e++) : null;
            answer(jobs.get(i).result(), new Classification(results.get(i), explanation));
        }
    }

    /**
     * Runs generations as one continuous batch until no row is left. At every token boundary: rows whose request
     * has ended leave and get their answer at once; waiting classifications run (the batch's cache stays in memory
     * meanwhile, so they wait one token at most, plus their own pass); then waiting generations with the same decoding
     * settings join, up to max-batch rows. A failure fails every row of the batch. Each join's prefill is one model
     * pass in the batch metric (so every request counts once); each decoding step records its rows and time.
     */
    private void runGenerate(List<Job.Generate> first) {
        Object key = first.get(0).batchKey();
        List<Running> active = new ArrayList<>();   // in the batch's row order
        List<Job.Generate> joining = first;
        // each row ends at its own token limit (GenerationRow), so the batch's maxNewTokens is not used.
        // Metrics are recorded as the batch goes: under steady load it may never end.
        try (DecodingBatch batch = emoVit.decodingBatch(first.get(0).config())) {
            while (!joining.isEmpty() || !active.isEmpty()) {
                if (!joining.isEmpty()) {
                    long joinStart = System.nanoTime();
                    int[] prompts = emoVit.join(batch, joining.stream().map(Job.Generate::image).toList(),
                            joining.stream().map(Job.Generate::prompt).toList());
                    metrics.batch("generate", joining.size(), System.nanoTime() - joinStart);
                    for (int i = 0; i < prompts.length; i++) {
                        active.add(new Running(joining.get(i), prompts[i]));
                    }
                    joining = List.of();
                }
                running = active.size();
                long stepStart = System.nanoTime();
                long[] tokens = batch.step();
                metrics.decodeStep(tokens.length, System.nanoTime() - stepStart);
                List<Integer> leaving = new ArrayList<>();
                int produced = 0;
                for (int b = 0; b < tokens.length; b++) {
                    GenerationRow row = active.get(b).job().row();
                    if (!row.finished()) {
                        row.accept(tokens[b]);
                        produced++;
                    }
                    if (row.finished()) {
                        leaving.add(b);
                    }
                }
                metrics.tokens(produced);
                batch.leave(leaving.stream().mapToInt(Integer::intValue).toArray());
                for (int i = leaving.size() - 1; i >= 0; i--) {
                    Running left = active.remove((int) leaving.get(i));
                    complete(left.job(), left.promptTokens());
                }
                running = active.size();
                List<Job.Classify> classifications = takeClassifications();
                if (!classifications.isEmpty()) {
                    classifyOrFail(classifications);
                }
                joining = takeJoiners(key, settings.maxBatch() - active.size());
            }
        } catch (RuntimeException | Error e) {
            failAll(active.stream().map(Running::job).toList(), e);
            failAll(joining, e);
        } finally {
            running = 0;
        }
    }

    /** A generation in the running batch, with its prompt's length for usage accounting. */
    private record Running(Job.Generate job, int promptTokens) {}

    private void complete(Job.Generate job, int promptTokens) {
        Generation g = job.row().result(promptTokens);
        if (g.finishReason().equals("cancelled")) {
            metrics.cancelled();
        }
        answer(job.result(), g);
    }

    private <T> void answer(CompletableFuture<T> f, T value) {
        callbacks.execute(() -> f.complete(value));
    }

    private void fail(Job j, Throwable e) {
        callbacks.execute(() -> j.result().completeExceptionally(e));
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
