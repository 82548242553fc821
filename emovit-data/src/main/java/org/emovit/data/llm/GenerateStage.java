package org.emovit.data.llm;

import org.emovit.data.InstructionKind;
import org.emovit.core.Errors;
import org.emovit.core.ProgressBar;
import org.emovit.data.DataIssue;
import org.emovit.data.EmoSet;
import org.emovit.data.Progress;
import org.emovit.data.PyText;
import org.emovit.data.Selection;
import org.emovit.data.SplitEntry;
import org.emovit.data.SplitList;
import org.emovit.data.WorkDir;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * LLM-written instructions for the selected images (the seed's {@code gpt4_reasoning.py} /
 * {@code gpt4_conversation.py}): for each image, a chat completion with the system prompt and the image's
 * cap-anno text as the user message; the raw reply goes to {@code <kind>/<emotion>/<name>.txt} as the seed saves
 * it and to one record in {@code <kind>.jsonl}.
 *
 * <p>What the seed lacks:
 * <ul>
 *   <li>Bounded concurrency ({@link LlmOptions#concurrency()} requests in flight).</li>
 *   <li>Retries on 429, 5xx, 408/409, timeouts, dropped connections and cut-off JSON replies, with exponential
 *       back-off and jitter; a server's {@code Retry-After} (or {@code retry-after-ms}) is waited out, by every
 *       worker, before the next request. A failure that every request would repeat stops the run at once, with
 *       {@link Report#stopMessage()} naming the URL and the cause: refused credentials (401/403,
 *       {@link StopReason#AUTH}), no connection at all ({@link StopReason#UNREACHABLE}), a reply that is not
 *       JSON ({@link StopReason#NOT_JSON}). Other 4xx fail the image.</li>
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
 *
 * <p>The stage only decides what each image needs; the parts are one job each: {@link RequestPolicy} (attempts,
 * back-off, {@code Retry-After}, budget), {@link RunFiles} (lock, resume, the JSON Lines files),
 * {@link WorkerPool} (the threads), {@link ResponseCache} (replies already paid for).
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
        /** The endpoint could not be reached at all (connection refused, unknown host). */
        UNREACHABLE,
        /** The endpoint answered with something that is not JSON (an HTML page): it is not a chat API. */
        NOT_JSON,
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
     * @param stopMessage      why the run stopped early, one line naming the cause (null when it did not)
     */
    public record Report(InstructionKind kind, int selected, int alreadyDone, int skipped, int cacheHits,
                         int answeredByServer, int failed, int notStarted, long requests, long retries,
                         long promptTokens, long completionTokens, Map<String, Long> failedRequestsByKind,
                         StopReason stopped, List<DataIssue> issues, String runId, String stopMessage) {

        /** Every selected image with cap-anno text has its reply on disk. */
        public boolean complete() {
            return selected - skipped == alreadyDone + cacheHits + answeredByServer;
        }

        public long failedRequests() {
            return failedRequestsByKind.values().stream().mapToLong(Long::longValue).sum();
        }

        /** One line for a person: the counts, the tokens paid for, and why the run stopped if it did. */
        public String summary() {
            return String.format(Locale.ROOT, "%s: %d selected, %d done before, %d skipped (no usable cap-anno text), "
                            + "%d from the cache, %d answered by %d requests (%d retries), %d failed, %d not started; "
                            + "tokens: %d prompt + %d completion%s%s", kind.label(), selected, alreadyDone, skipped,
                    cacheHits, answeredByServer, requests, retries, failed, notStarted, promptTokens, completionTokens,
                    issues.isEmpty() ? "" : "; " + issues.size() + " issue(s)",
                    stopped == StopReason.NONE ? "" : "; stopped (" + stopped.name().toLowerCase(Locale.ROOT) + "): "
                            + stopMessage);
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
        Run run = new Run(o, budget);
        try {
            return run.execute();
        } finally {
            if (run.interrupted) {
                // set again only now, once the run files are closed: file channels (the lock) fail on an
                // interrupted thread
                Thread.currentThread().interrupt();
            }
        }
    }


    private enum Outcome { DONE, FAILED, NOT_STARTED }

    /** One run's state: what the images need, and the counts. */
    private final class Run {
        final Options o;
        final LlmOptions llm;
        final InstructionKind kind;
        final String runId = UUID.randomUUID().toString();
        final ResponseCache cache;
        final StopSignal<StopReason> stop = new StopSignal<>();
        final RequestTally tally = new RequestTally();
        final RequestPolicy policy;
        final AtomicInteger cacheHits = new AtomicInteger();
        final AtomicInteger paid = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final AtomicInteger notStarted = new AtomicInteger();
        final List<DataIssue> issues = Collections.synchronizedList(new ArrayList<>());
        String system;
        RunFiles files;
        boolean interrupted;

        Run(Options o, Budget budget) {
            this.o = o;
            this.llm = o.llm();
            this.kind = o.kind();
            this.cache = new ResponseCache(o.cacheDir() != null ? o.cacheDir() : work.llmCache());
            this.policy = new RequestPolicy(llm, budget, stop, tally);
        }

        Report execute() throws IOException {
            system = SystemPrompts.load(kind, o.systemPromptFile());
            SplitList split = set.split(o.selection().split());
            SplitList.Selected sel = split.select(o.selection());
            issues.addAll(split.issues());
            issues.addAll(sel.notes());
            int alreadyDone = 0;
            int skipped = 0;
            try (RunFiles f = RunFiles.open(work, kind)) {
                files = f;
                issues.addAll(f.issues());
                Map<SplitEntry, String> inputs = new LinkedHashMap<>();
                for (SplitEntry e : sel.entries()) {
                    if (f.done().contains(e.key())) {
                        alreadyDone++;
                        continue;
                    }
                    Path capAno = work.capAno(e);
                    try {
                        inputs.put(e, PyText.readText(capAno));
                    } catch (IOException ex) {
                        skipped++;
                        issues.add(Files.exists(capAno) ? DataIssue.of(e.key(), capAno, "cap-anno text unreadable", ex)
                                : new DataIssue(e.key(), capAno.toString(), "no cap-anno text (run cap-anno)"));
                    }
                }
                try (ProgressBar bar = new ProgressBar(kind.label(), inputs.size(), progress)) {
                    interrupted = WorkerPool.runAll(kind.label(), llm.concurrency(), List.copyOf(inputs.keySet()),
                            e -> {
                                Outcome oc = processSafely(e, inputs.get(e));
                                if (oc == Outcome.NOT_STARTED) {
                                    notStarted.incrementAndGet();
                                } else {
                                    bar.step(oc == Outcome.FAILED);
                                }
                            },
                            () -> stop.stop(StopReason.INTERRUPTED, "interrupted"));
                }
            }
            return new Report(kind, sel.entries().size(), alreadyDone, skipped, cacheHits.get(), paid.get(),
                    failed.get(), notStarted.get(), tally.requests.get(), tally.retries.get(),
                    tally.promptTokens.get(), tally.completionTokens.get(), tally.failedByKind(),
                    stop.reason(StopReason.NONE), List.copyOf(issues), runId, stop.message());
        }

        /** A bug in one image's handling fails that image, not the run. */
        Outcome processSafely(SplitEntry e, String input) {
            try {
                return process(e, input);
            } catch (RuntimeException ex) {
                failed.incrementAndGet();
                issues.add(new DataIssue(e.key(), null, "unexpected error: " + ex));
                return Outcome.FAILED;
            }
        }

        Outcome process(SplitEntry e, String input) {
            if (stop.stopped()) {
                return Outcome.NOT_STARTED;
            }
            String key = ResponseCache.key(llm.model(), system, input);
            var hit = cache.get(key);
            if (hit.isPresent()) {
                ResponseCache.Entry c = hit.get();
                if (record(e, key, c.content(), c.promptTokens(), c.completionTokens(), true, 0)) {
                    cacheHits.incrementAndGet();
                    return Outcome.DONE;
                }
                return fail();
            }
            RequestPolicy.Result r = policy.call(
                    () -> client.complete(llm.model(), llm.temperature(), llm.maxCompletionTokens(), system, input),
                    (attempt, reply, ex, ms) -> logCost(e, key, attempt, reply, ex, ms));
            if (r instanceof RequestPolicy.Answered a) {
                try {
                    // cached before it is used: a crash after this point never pays for the reply again
                    cache.put(key, llm.model(), a.reply());
                } catch (IOException io) {
                    writeFailed(e, io);
                    return fail();
                }
                if (record(e, key, a.reply().content(), a.reply().promptTokens(), a.reply().completionTokens(),
                        false, a.attempts())) {
                    paid.incrementAndGet();
                    return Outcome.DONE;
                }
                return fail();
            }
            if (r instanceof RequestPolicy.Failed f) {
                String why = null;
                if (f.last().kind().stopsRun()) {
                    why = stopRun(f.last());
                }
                return giveUp(e, f.attempts(), f.last(), why);
            }
            if (r instanceof RequestPolicy.BudgetSpent) {
                stop.stop(StopReason.BUDGET, "the run's budget is spent");
            }
            return Outcome.NOT_STARTED;
        }

        /**
         * Stops the run for a failure that every later request would repeat; returns the item's reason. The
         * message names the endpoint and the cause, as the one line a user sees.
         */
        String stopRun(ChatException ex) {
            switch (ex.kind()) {
                case AUTH -> {
                    stop.stop(StopReason.AUTH, llm.baseUrl() + " refused the credentials (HTTP " + ex.status() + "): "
                            + Errors.firstLine(ex) + "; check OPENAI_API_KEY");
                    return "credentials refused";
                }
                case UNREACHABLE -> {
                    stop.stop(StopReason.UNREACHABLE, Errors.firstLine(ex));
                    return "endpoint unreachable";
                }
                default -> {
                    stop.stop(StopReason.NOT_JSON, Errors.firstLine(ex));
                    return "not a chat-completions API";
                }
            }
        }

        Outcome fail() {
            failed.incrementAndGet();
            return Outcome.FAILED;
        }

        Outcome giveUp(SplitEntry e, int attempts, ChatException last, String why) {
            String reason = (why != null ? why + "; " : "") + (last == null ? "no reply"
                    : "last error " + last.kind() + (last.status() > 0 ? " (HTTP " + last.status() + ")" : "") + ": "
                    + last.getMessage());
            issues.add(new DataIssue(e.key(), null, "no reply after " + attempts + " attempt(s): " + reason));
            try {
                files.error(new RunRecords.Error(runId, Instant.now().toString(), e.key(), attempts,
                        last == null ? "NONE" : last.kind().name(), last == null ? 0 : last.status(), reason));
            } catch (IOException io) {
                writeFailed(e, io);
            }
            return fail();
        }

        boolean record(SplitEntry e, String key, String content, long pt, long ct, boolean cached, int attempts) {
            try {
                files.reply(e, new RunRecords.Reply(e.key(), e.emotion().label(), e.name(), e.id(), e.imageFileName(),
                        e.index(), kind.label(), llm.model(), content, pt, ct, cached, attempts, key, runId,
                        Instant.now().toString()));
                return true;
            } catch (IOException io) {
                writeFailed(e, io);
                return false;
            }
        }

        void writeFailed(SplitEntry e, IOException io) {
            String m = "could not write the run files: " + io;
            issues.add(new DataIssue(e.key(), null, m));
            stop.stop(StopReason.WRITE_ERROR, m);
        }

        void logCost(SplitEntry e, String key, int attempt, ChatResult reply, ChatException ex, long ms) {
            String error = ex == null ? null : ex.getMessage();
            RunRecords.Cost c = new RunRecords.Cost(runId, Instant.now().toString(), kind.label(), e.key(), attempt,
                    llm.model(), ex == null ? "ok" : ex.kind().name(), ex == null ? 200 : ex.status(),
                    reply == null ? 0 : reply.promptTokens(), reply == null ? 0 : reply.completionTokens(),
                    reply != null && !reply.usageReported() ? Boolean.TRUE : null, ms,
                    ex == null || ex.retryAfter() == null ? null : ex.retryAfter().toMillis(), key,
                    error != null && error.length() > 300 ? error.substring(0, 300) : error);
            try {
                files.cost(c);
            } catch (IOException io) {
                issues.add(new DataIssue(e.key(), files.costPath().toString(), "cost log not written: " + io));
            }
        }
    }
}
