package org.emovit.data.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.emovit.data.DataIssue;
import org.emovit.data.EmoSet;
import org.emovit.data.Progress;
import org.emovit.data.PyText;
import org.emovit.data.Selection;
import org.emovit.data.SplitEntry;
import org.emovit.data.SplitList;
import org.emovit.data.WorkDir;
import org.emovit.core.AtomicFiles;
import org.emovit.core.JsonlFile;
import org.emovit.core.ProgressBar;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * LLM-written instructions for the selected images (the seed's {@code gpt4_reasoning.py} /
 * {@code gpt4_conversation.py}): for each image, a chat completion with the system prompt and the image's
 * cap-anno text as the user message; the raw reply goes to {@code <kind>/<emotion>/<name>.txt} as the seed saves
 * it and to one record in {@code <kind>.jsonl}.
 *
 * <p>What the seed lacks:
 * <ul>
 *   <li>Bounded concurrency ({@link LlmOptions#concurrency()} requests in flight).</li>
 *   <li>Retries on 429, 5xx, 408/409, timeouts, connection errors and malformed replies, with exponential
 *       back-off and jitter; a server's {@code Retry-After} (or {@code retry-after-ms}) is waited out, by every
 *       worker, before the next request. 401/403 stop the run; other 4xx fail the image.</li>
 *   <li>A run budget of requests and tokens ({@link Budget}); when it is spent no request is started and the run
 *       ends with {@link StopReason#BUDGET}.</li>
 *   <li>A cost log, {@code <kind>-cost.jsonl}: one line per HTTP request with its outcome and prompt /
 *       completion tokens.</li>
 *   <li>A response cache ({@link ResponseCache}) written before the reply is used, so no reply is paid twice.</li>
 *   <li>Append-only output, fsynced per record; on start the file is repaired (a half-written last line is cut)
 *       and images that already have a record are skipped: a crash loses nothing that was recorded, and a rerun
 *       neither duplicates records nor repeats paid requests. A lock file keeps two runs off the same output.</li>
 *   <li>Stopping: interrupting the thread that called {@link #run} stops new requests, lets those in flight
 *       finish and be recorded, and returns with {@link StopReason#INTERRUPTED} (the thread's interrupt flag is
 *       set again).</li>
 * </ul>
 * Images whose attempts all fail are written to {@code <kind>-errors.jsonl}; the run goes on and a rerun tries
 * them again. Records are per image: an image with a record is not asked again, even after the model or the
 * prompt changed (a new set needs another work folder; the cache, keyed by model, prompt and input, may be
 * shared).
 */
public final class GenerateStage {

    /**
     * @param kind             reasoning or conversation
     * @param selection        the images (the kind's default: train indices 0..99 or 0..999 per class)
     * @param systemPromptFile a prompt file (e.g. the seed's {@code prompt/reasoning.txt}), or null for the
     *                         project's own
     * @param llm              endpoint, model, retries, budget
     * @param cacheDir         the response cache, or null for {@code <work>/llm-cache}
     */
    public record Options(InstructionKind kind, Selection selection, Path systemPromptFile, LlmOptions llm,
                          Path cacheDir) {
        public static Options of(InstructionKind kind, LlmOptions llm) {
            return new Options(kind, kind.defaultSelection(), null, llm, null);
        }

        public Options withSelection(Selection s) {
            return new Options(kind, s, systemPromptFile, llm, cacheDir);
        }

        public Options withSystemPromptFile(Path p) {
            return new Options(kind, selection, p, llm, cacheDir);
        }

        public Options withLlm(LlmOptions l) {
            return new Options(kind, selection, systemPromptFile, l, cacheDir);
        }

        public Options withCacheDir(Path p) {
            return new Options(kind, selection, systemPromptFile, llm, p);
        }
    }

    /** Why a run ended before every image had a reply (or was recorded as failed). */
    public enum StopReason {
        /** It did not stop early. */
        NONE,
        /** The request or token budget was spent. */
        BUDGET,
        /** The calling thread was interrupted. */
        INTERRUPTED,
        /** The server refused the credentials (401 / 403). */
        AUTH,
        /** A run file could not be written. */
        WRITE_ERROR
    }

    /**
     * What a run did. {@code requests == answeredByServer + failedRequests}, where {@code failedRequests} is the
     * sum of {@code failedRequestsByKind}; {@code retries} counts the requests that were not an image's first.
     *
     * @param selected         images selected
     * @param alreadyDone      images that had a record before the run
     * @param skipped          images without cap-anno text
     * @param cacheHits        images answered from the cache (no request)
     * @param answeredByServer images answered by a request in this run
     * @param failed           images whose attempts all failed (or whose request was refused)
     * @param notStarted       images left without a reply because the run stopped early (a rerun does them)
     * @param requests         HTTP requests sent
     * @param retries          requests that were retries
     * @param promptTokens     prompt tokens of this run's requests
     * @param completionTokens completion tokens of this run's requests
     */
    public record Report(InstructionKind kind, int selected, int alreadyDone, int skipped, int cacheHits,
                         int answeredByServer, int failed, int notStarted, long requests, long retries,
                         long promptTokens, long completionTokens, Map<String, Long> failedRequestsByKind,
                         StopReason stopped, List<DataIssue> issues, String runId) {

        /** Every selected image with cap-anno text has its reply on disk. */
        public boolean complete() {
            return selected - skipped == alreadyDone + cacheHits + answeredByServer;
        }

        public long failedRequests() {
            return failedRequestsByKind.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private final EmoSet set;
    private final WorkDir work;
    private final ChatClient client;
    private final PrintStream progress;

    /** The client is not closed by the stage. */
    public GenerateStage(EmoSet set, WorkDir work, ChatClient client, PrintStream progress) {
        this.set = set;
        this.work = work;
        this.client = client;
        this.progress = Progress.orQuiet(progress);
    }

    /** Runs with a budget of its own, from {@code o.llm()}. */
    public Report run(Options o) throws IOException {
        return run(o, new Budget(o.llm().maxRequests(), o.llm().maxTokens()));
    }

    /** Runs against a budget shared with other runs (the whole chain's, for instance). */
    public Report run(Options o, Budget budget) throws IOException {
        return new Run(o, budget).execute();
    }

    private enum Outcome { DONE_CACHED, DONE_PAID, FAILED, NOT_STARTED }

    /** One run's state. */
    private final class Run {
        final Options o;
        final LlmOptions llm;
        final InstructionKind kind;
        final String runId = UUID.randomUUID().toString();
        final Budget budget;
        final ResponseCache cache;
        final Random jitter;
        final AtomicReference<StopReason> stopReason = new AtomicReference<>(StopReason.NONE);
        final CountDownLatch stopLatch = new CountDownLatch(1);
        final AtomicLong notBefore = new AtomicLong(System.nanoTime());
        final AtomicLong requests = new AtomicLong();
        final AtomicLong retries = new AtomicLong();
        final AtomicLong promptTokens = new AtomicLong();
        final AtomicLong completionTokens = new AtomicLong();
        final AtomicInteger cacheHits = new AtomicInteger();
        final AtomicInteger paid = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final AtomicInteger notStarted = new AtomicInteger();
        final Map<String, AtomicLong> failedByKind = new ConcurrentHashMap<>();
        final List<DataIssue> issues = Collections.synchronizedList(new ArrayList<>());
        String system;
        JsonlFile out;
        JsonlFile costLog;
        JsonlFile errors;
        ProgressBar bar;
        boolean interrupted;

        Run(Options o, Budget budget) {
            this.o = o;
            this.llm = o.llm();
            this.kind = o.kind();
            this.budget = budget;
            this.cache = new ResponseCache(o.cacheDir() != null ? o.cacheDir() : work.llmCache());
            this.jitter = llm.jitterSeed() != null ? new Random(llm.jitterSeed()) : new Random();
        }

        Report execute() throws IOException {
            try {
                return executeLocked();
            } finally {
                if (interrupted) {
                    // set again only now: file channels (the lock) fail on an interrupted thread
                    Thread.currentThread().interrupt();
                }
            }
        }

        Report executeLocked() throws IOException {
            system = SystemPrompts.load(kind, o.systemPromptFile());
            SplitList split = set.split(o.selection().split());
            SplitList.Selected sel = split.select(o.selection());
            issues.addAll(split.issues());
            issues.addAll(sel.notes());
            Path outPath = work.replies(kind);
            Files.createDirectories(work.root());
            try (RandomAccessFile lockFile = new RandomAccessFile(work.root().resolve("." + kind.label() + ".lock").toFile(), "rw");
                 FileLock lock = tryLock(lockFile, outPath)) {
                JsonlFile.Contents<com.fasterxml.jackson.databind.JsonNode> existing = JsonlFile.read(outPath);
                for (String p : existing.problems()) {
                    issues.add(new DataIssue(null, outPath.toString(), p));
                }
                Set<String> done = new HashSet<>();
                for (JsonNode r : existing.records()) {
                    if (!done.add(r.path("key").asText())) {
                        issues.add(new DataIssue(r.path("key").asText(), outPath.toString(),
                                "more than one record for this image; the first is used"));
                    }
                }
                int alreadyDone = 0;
                int skipped = 0;
                List<SplitEntry> todo = new ArrayList<>();
                Map<SplitEntry, String> inputs = new LinkedHashMap<>();
                for (SplitEntry e : sel.entries()) {
                    if (done.contains(e.key())) {
                        alreadyDone++;
                        continue;
                    }
                    Path capAno = work.capAno(e);
                    try {
                        inputs.put(e, PyText.readText(capAno));
                        todo.add(e);
                    } catch (IOException ex) {
                        skipped++;
                        issues.add(new DataIssue(e.key(), capAno.toString(), Files.exists(capAno)
                                ? "cap-anno text unreadable: " + ex.getMessage() : "no cap-anno text (run cap-anno)"));
                    }
                }
                try (JsonlFile out = JsonlFile.open(outPath);
                     JsonlFile cost = JsonlFile.open(work.costLog(kind));
                     JsonlFile errs = JsonlFile.open(work.errors(kind));
                     ProgressBar bar = new ProgressBar(kind.label(), todo.size(), progress)) {
                    this.out = out;
                    this.costLog = cost;
                    this.errors = errs;
                    this.bar = bar;
                    interrupted = runAll(todo, inputs);
                }
                Map<String, Long> byKind = new LinkedHashMap<>();
                failedByKind.forEach((k, v) -> byKind.put(k, v.get()));
                return new Report(kind, sel.entries().size(), alreadyDone, skipped, cacheHits.get(), paid.get(),
                        failed.get(), notStarted.get(), requests.get(), retries.get(), promptTokens.get(),
                        completionTokens.get(), byKind, stopReason.get(), List.copyOf(issues), runId);
            }
        }

        private FileLock tryLock(RandomAccessFile f, Path outPath) throws IOException {
            FileLock l;
            try {
                l = f.getChannel().tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                throw new IOException("another run is writing " + outPath + " (lock held on "
                        + work.root().resolve("." + kind.label() + ".lock") + ")");
            }
            return l;
        }

        /** Runs the items; true when the calling thread was interrupted (its flag is then cleared). */
        private boolean runAll(List<SplitEntry> todo, Map<SplitEntry, String> inputs) {
            AtomicInteger threadNo = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(llm.concurrency(), r -> {
                Thread t = new Thread(r, "emovit-" + kind.label() + "-" + threadNo.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            for (SplitEntry e : todo) {
                String input = inputs.get(e);
                pool.execute(() -> {
                    Outcome oc;
                    try {
                        oc = process(e, input);
                    } catch (RuntimeException ex) {
                        failed.incrementAndGet();
                        issues.add(new DataIssue(e.key(), null, "unexpected error: " + ex));
                        oc = Outcome.FAILED;
                    }
                    if (oc == Outcome.NOT_STARTED) {
                        notStarted.incrementAndGet();
                    } else {
                        bar.step(oc == Outcome.FAILED);
                    }
                });
            }
            pool.shutdown();
            boolean interrupted = false;
            while (true) {
                try {
                    if (pool.awaitTermination(100, TimeUnit.MILLISECONDS)) {
                        break;
                    }
                } catch (InterruptedException ie) {
                    interrupted = true;
                    stop(StopReason.INTERRUPTED);
                }
            }
            return interrupted;
        }

        void stop(StopReason why) {
            stopReason.compareAndSet(StopReason.NONE, why);
            stopLatch.countDown();
        }

        boolean stopped() {
            return stopLatch.getCount() == 0;
        }

        /** Sleeps, waking early when the run is stopped; false when stopped. */
        boolean pause(long nanos) {
            if (nanos <= 0) {
                return !stopped();
            }
            try {
                return !stopLatch.await(nanos, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }

        Outcome process(SplitEntry e, String input) {
            if (stopped()) {
                return Outcome.NOT_STARTED;
            }
            String key = ResponseCache.key(llm.model(), system, input);
            var hit = cache.get(key);
            if (hit.isPresent()) {
                ResponseCache.Entry c = hit.get();
                if (record(e, key, c.content(), c.promptTokens(), c.completionTokens(), true, 0)) {
                    cacheHits.incrementAndGet();
                    return Outcome.DONE_CACHED;
                }
                failed.incrementAndGet();
                return Outcome.FAILED;
            }
            ChatException last = null;
            for (int attempt = 1; attempt <= llm.maxAttempts(); attempt++) {
                if (!pause(notBefore.get() - System.nanoTime())) {
                    return Outcome.NOT_STARTED;
                }
                if (!budget.tryStartRequest()) {
                    stop(StopReason.BUDGET);
                    return Outcome.NOT_STARTED;
                }
                requests.incrementAndGet();
                if (attempt > 1) {
                    retries.incrementAndGet();
                }
                long t0 = System.nanoTime();
                try {
                    ChatResult r = client.complete(llm.model(), llm.temperature(), llm.maxCompletionTokens(), system, input);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    budget.addTokens(r.promptTokens() + r.completionTokens());
                    promptTokens.addAndGet(r.promptTokens());
                    completionTokens.addAndGet(r.completionTokens());
                    logCost(e, key, attempt, "ok", 200, r.promptTokens(), r.completionTokens(), r.usageReported(),
                            ms, null, null);
                    try {
                        cache.put(key, llm.model(), r);
                    } catch (IOException io) {
                        failed.incrementAndGet();
                        writeFailed(e, io);
                        return Outcome.FAILED;
                    }
                    if (record(e, key, r.content(), r.promptTokens(), r.completionTokens(), false, attempt)) {
                        paid.incrementAndGet();
                        return Outcome.DONE_PAID;
                    }
                    failed.incrementAndGet();
                    return Outcome.FAILED;
                } catch (ChatException ex) {
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    last = ex;
                    failedByKind.computeIfAbsent(ex.kind().name(), k -> new AtomicLong()).incrementAndGet();
                    logCost(e, key, attempt, ex.kind().name(), ex.status(), 0, 0, false, ms, ex.retryAfter(),
                            ex.getMessage());
                    if (ex.kind() == ChatException.Kind.AUTH) {
                        stop(StopReason.AUTH);
                        return giveUp(e, attempt, ex, "credentials refused");
                    }
                    if (!ex.kind().retryable() || attempt == llm.maxAttempts()) {
                        return giveUp(e, attempt, ex, null);
                    }
                    long wait = backoffNanos(attempt, ex.retryAfter());
                    if (ex.retryAfter() != null) {
                        long until = System.nanoTime() + Math.min(ex.retryAfter().toNanos(), llm.maxRetryAfter().toNanos());
                        notBefore.accumulateAndGet(until, Math::max);
                    }
                    if (!pause(wait)) {
                        return Outcome.NOT_STARTED;
                    }
                }
            }
            return giveUp(e, llm.maxAttempts(), last, null);
        }

        /** Exponential back-off with jitter, or the server's Retry-After (capped) plus a little jitter. */
        long backoffNanos(int failedAttempt, Duration retryAfter) {
            double base = llm.backoffBase().toNanos();
            if (retryAfter != null) {
                long ra = Math.min(retryAfter.toNanos(), llm.maxRetryAfter().toNanos());
                return ra + (long) (nextJitter() * base / 2);
            }
            double d = Math.min(llm.backoffMax().toNanos(), base * Math.pow(2, failedAttempt - 1));
            return (long) (d / 2 + nextJitter() * d / 2);
        }

        double nextJitter() {
            synchronized (jitter) {
                return jitter.nextDouble();
            }
        }

        Outcome giveUp(SplitEntry e, int attempts, ChatException last, String why) {
            failed.incrementAndGet();
            String reason = (why != null ? why + "; " : "") + (last == null ? "no reply"
                    : "last error " + last.kind() + (last.status() > 0 ? " (HTTP " + last.status() + ")" : "") + ": "
                    + last.getMessage());
            issues.add(new DataIssue(e.key(), null, "no reply after " + attempts + " attempt(s): " + reason));
            ObjectNode r = JsonNodeFactory.instance.objectNode();
            r.put("run", runId);
            r.put("time", Instant.now().toString());
            r.put("key", e.key());
            r.put("attempts", attempts);
            r.put("error_kind", last == null ? "NONE" : last.kind().name());
            r.put("status", last == null ? 0 : last.status());
            r.put("error", reason);
            try {
                errors.append(r);
            } catch (IOException io) {
                writeFailed(e, io);
            }
            return Outcome.FAILED;
        }

        boolean record(SplitEntry e, String key, String content, long pt, long ct, boolean cached, int attempts) {
            ObjectNode r = JsonNodeFactory.instance.objectNode();
            r.put("key", e.key());
            r.put("emotion", e.emotion().label());
            r.put("name", e.name());
            r.put("id", e.id());
            r.put("image", e.imageFileName());
            r.put("index", e.index());
            r.put("kind", kind.label());
            r.put("model", llm.model());
            r.put("response", content);
            r.put("prompt_tokens", pt);
            r.put("completion_tokens", ct);
            r.put("cached", cached);
            r.put("attempts", attempts);
            r.put("cache_key", key);
            r.put("run", runId);
            r.put("time", Instant.now().toString());
            try {
                AtomicFiles.writeString(work.reply(kind, e), content);
                out.append(r);
                return true;
            } catch (IOException io) {
                writeFailed(e, io);
                return false;
            }
        }

        void writeFailed(SplitEntry e, IOException io) {
            issues.add(new DataIssue(e.key(), null, "could not write the run files: " + io));
            stop(StopReason.WRITE_ERROR);
        }

        void logCost(SplitEntry e, String key, int attempt, String outcome, int status, long pt, long ct,
                     boolean usageReported, long ms, Duration retryAfter, String error) {
            ObjectNode r = JsonNodeFactory.instance.objectNode();
            r.put("run", runId);
            r.put("time", Instant.now().toString());
            r.put("kind", kind.label());
            r.put("key", e.key());
            r.put("attempt", attempt);
            r.put("model", llm.model());
            r.put("outcome", outcome);
            r.put("status", status);
            r.put("prompt_tokens", pt);
            r.put("completion_tokens", ct);
            if (!usageReported && "ok".equals(outcome)) {
                r.put("usage_missing", true);
            }
            r.put("latency_ms", ms);
            if (retryAfter != null) {
                r.put("retry_after_ms", retryAfter.toMillis());
            }
            r.put("cache_key", key);
            if (error != null) {
                r.put("error", error.length() > 300 ? error.substring(0, 300) : error);
            }
            try {
                costLog.append(r);
            } catch (IOException io) {
                issues.add(new DataIssue(e.key(), work.costLog(kind).toString(), "cost log not written: " + io));
            }
        }
    }
}
