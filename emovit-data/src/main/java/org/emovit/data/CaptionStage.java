package org.emovit.data;

import com.fasterxml.jackson.databind.JsonNode;
import org.emovit.core.JsonlFile;
import org.emovit.core.ProgressBar;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Captions the selected images with any {@link Captioner}: {@code caption/<emotion>/<name>.txt} as the seed's
 * {@code caption.py} writes it (the caption, no newline), and one record per image in {@code captions.jsonl}.
 *
 * <p>Resumable: images with a record in {@code captions.jsonl} are skipped; a caption file that exists without
 * a record (from the seed, or from a run stopped between the two writes) is taken as it is unless
 * {@link Options#adoptExisting()} is off. A failure (missing or unreadable image, captioner error) is recorded in
 * {@code caption-errors.jsonl} and the run goes on; a rerun tries failed images again.
 */
public final class CaptionStage {

    /**
     * @param selection     which images
     * @param batchSize     images per {@link Captioner#captionBatch} call
     * @param adoptExisting take caption files already on disk instead of captioning those images again
     */
    public record Options(Selection selection, int batchSize, boolean adoptExisting) {
        public Options {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size must be at least 1");
            }
        }

        /** Train indices 0..999 per class (what the reasoning and conversation stages read), batch 1, adopt. */
        public static Options defaults() {
            return new Options(Selection.CONVERSATION, 1, true);
        }
    }

    /**
     * What a caption run did; {@code interrupted}: the calling thread was interrupted and the run stopped between
     * two captioner calls (its interrupt flag is still set; a rerun goes on from there).
     */
    public record Report(int selected, int alreadyDone, int adopted, int captioned, int failed,
                         List<DataIssue> issues, boolean interrupted) {
        /** One line for a person. */
        public String summary() {
            return "caption: " + selected + " selected, " + alreadyDone + " done before, " + adopted
                    + " caption files taken as they were, " + captioned + " captioned, " + failed + " failed"
                    + Issues.count(issues) + (interrupted ? "; interrupted (run again to continue)" : "");
        }
    }

    private final EmoSet set;
    private final WorkDir work;
    private final PrintStream progress;

    public CaptionStage(EmoSet set, WorkDir work, PrintStream progress) {
        this.set = set;
        this.work = work;
        this.progress = Progress.orQuiet(progress);
    }

    public Report run(Captioner captioner, Options o) throws IOException {
        SplitList split = set.split(o.selection().split());
        SplitList.Selected sel = split.select(o.selection());
        List<DataIssue> issues = new ArrayList<>(split.issues());
        issues.addAll(sel.notes());
        Set<String> done = new HashSet<>();
        for (JsonNode r : JsonlFile.read(work.captionsJsonl()).records()) {
            done.add(r.path("key").asText());
        }
        int alreadyDone = 0;
        int adopted = 0;
        int captioned = 0;
        int failed = 0;
        boolean interrupted = false;
        List<SplitEntry> todo = new ArrayList<>();
        try (JsonlFile out = DataFiles.openJsonl(work.captionsJsonl());
             JsonlFile errors = DataFiles.openJsonl(work.captionErrors());
             ProgressBar bar = new ProgressBar("caption", sel.entries().size(), progress)) {
            for (SplitEntry e : sel.entries()) {
                if (done.contains(e.key())) {
                    alreadyDone++;
                    bar.step(false);
                    continue;
                }
                Path txt = work.caption(e);
                if (o.adoptExisting() && Files.isRegularFile(txt)) {
                    try {
                        out.append(record(e, PyText.readText(txt), "existing file"));
                        adopted++;
                        bar.step(false);
                        continue;
                    } catch (IOException ex) {
                        // unreadable: caption it again
                    }
                }
                if (!Files.isRegularFile(set.imageFile(e))) {
                    failed++;
                    fail(errors, issues, e, "image not found: " + set.imageFile(e));
                    bar.step(true);
                    continue;
                }
                String unreadable = DataFiles.unreadable(set.imageFile(e));
                if (unreadable != null) {
                    failed++;
                    fail(errors, issues, e, "image " + unreadable + ": " + set.imageFile(e));
                    bar.step(true);
                    continue;
                }
                todo.add(e);
            }
            for (int i = 0; i < todo.size(); i += o.batchSize()) {
                if (Thread.currentThread().isInterrupted()) {
                    interrupted = true;
                    break;
                }
                List<SplitEntry> batch = todo.subList(i, Math.min(todo.size(), i + o.batchSize()));
                List<String> captions = null;
                if (o.batchSize() > 1) {
                    try {
                        captions = captioner.captionBatch(batch.stream().map(set::imageFile).toList());
                        if (captions == null || captions.size() != batch.size()) {
                            captions = null;
                        }
                    } catch (Exception ex) {
                        captions = null;
                    }
                }
                for (int k = 0; k < batch.size(); k++) {
                    SplitEntry e = batch.get(k);
                    String c;
                    try {
                        c = captions != null ? captions.get(k) : captioner.caption(set.imageFile(e));
                        if (c == null) {
                            throw new IllegalStateException("the captioner returned no caption");
                        }
                    } catch (Exception ex) {
                        failed++;
                        fail(errors, issues, e, describe(ex));
                        bar.step(true);
                        continue;
                    }
                    DataFiles.writeString(work.caption(e), c);
                    out.append(record(e, c, captioner.describe()));
                    captioned++;
                    bar.step(false);
                }
            }
        }
        return new Report(sel.entries().size(), alreadyDone, adopted, captioned, failed, issues, interrupted);
    }

    /** One line of {@code captions.jsonl}. */
    public record CaptionRecord(String key, String emotion, String name, String image, String caption, String source,
                                String time) {
    }

    /** One line of {@code caption-errors.jsonl}. */
    public record CaptionError(String key, String image, String error, String time) {
    }

    private void fail(JsonlFile errors, List<DataIssue> issues, SplitEntry e, String why) throws IOException {
        errors.append(new CaptionError(e.key(), set.imageFile(e).toString(), why, Instant.now().toString()));
        issues.add(new DataIssue(e.key(), set.imageFile(e).toString(), why));
    }

    private static CaptionRecord record(SplitEntry e, String caption, String source) {
        return new CaptionRecord(e.key(), e.emotion().label(), e.name(), e.imagePath(), caption, source,
                Instant.now().toString());
    }

    static String describe(Throwable ex) {
        String m = ex.getMessage();
        return ex.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }
}
