package org.emovit.data.llm;

import org.emovit.data.InstructionKind;
import org.emovit.data.DataFiles;
import org.emovit.core.JsonlFile;
import org.emovit.data.DataIssue;
import org.emovit.data.SplitEntry;
import org.emovit.data.WorkDir;

import java.io.Closeable;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The files of one generate run of one kind: the lock that keeps a second run off them, what an earlier run
 * already recorded (to resume), and the three JSON Lines files it appends to — replies ({@code <kind>.jsonl}, plus
 * the seed's {@code <kind>/<emotion>/<name>.txt}), the cost log and the errors. Opening repairs a line cut off by
 * a crash ({@link JsonlFile#open}); every record is fsynced before the call returns.
 */
final class RunFiles implements Closeable {
    private final WorkDir work;
    private final InstructionKind kind;
    private final RandomAccessFile lockFile;
    private final FileLock lock;
    private final Set<String> done = new HashSet<>();
    private final List<DataIssue> issues = new ArrayList<>();
    private JsonlFile replies;
    private JsonlFile cost;
    private JsonlFile errors;

    private RunFiles(WorkDir work, InstructionKind kind, RandomAccessFile lockFile, FileLock lock) {
        this.work = work;
        this.kind = kind;
        this.lockFile = lockFile;
        this.lock = lock;
    }

    /**
     * Takes the kind's lock, reads what is recorded, then opens the files for appending.
     *
     * @throws IOException when another run holds the lock, or a file cannot be read or opened
     */
    static RunFiles open(WorkDir work, InstructionKind kind) throws IOException {
        DataFiles.createDirectories(work.root());
        Path lockPath = work.root().resolve("." + kind.label() + ".lock");
        RandomAccessFile raf;
        try {
            raf = new RandomAccessFile(lockPath.toFile(), "rw");
        } catch (IOException e) {
            throw DataFiles.explain(e, lockPath);
        }
        FileLock l;
        try {
            l = raf.getChannel().tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        } catch (IOException e) {
            raf.close();
            throw e;
        }
        if (l == null) {
            raf.close();
            throw new IOException("another run is writing " + work.replies(kind) + " (lock held on " + lockPath + ")");
        }
        RunFiles f = new RunFiles(work, kind, raf, l);
        try {
            f.readRecorded();
            f.replies = DataFiles.openJsonl(work.replies(kind));
            f.cost = DataFiles.openJsonl(work.costLog(kind));
            f.errors = DataFiles.openJsonl(work.errors(kind));
            return f;
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private void readRecorded() throws IOException {
        Path out = work.replies(kind);
        JsonlFile.Contents<Key> existing = JsonlFile.read(out, Key.class);
        for (String p : existing.problems()) {
            issues.add(new DataIssue(null, out.toString(), p));
        }
        for (Key r : existing.records()) {
            if (!done.add(r.key())) {
                issues.add(new DataIssue(r.key(), out.toString(), "more than one record for this image; the first is used"));
            }
        }
    }

    /** The part of a reply record that resuming needs. */
    private record Key(String key) {
    }

    /** Images that already have a reply record. */
    Set<String> done() {
        return done;
    }

    /** What reading the earlier records found (cut-off lines, duplicates). */
    List<DataIssue> issues() {
        return issues;
    }

    /** The seed's text file first, then the record: an image counts as done only once both are on disk. */
    void reply(SplitEntry e, RunRecords.Reply r) throws IOException {
        DataFiles.writeString(work.reply(kind, e), r.response());
        replies.append(r);
    }

    void cost(RunRecords.Cost r) throws IOException {
        cost.append(r);
    }

    void error(RunRecords.Error r) throws IOException {
        errors.append(r);
    }

    Path costPath() {
        return work.costLog(kind);
    }

    @Override
    public void close() throws IOException {
        // the lock is released last, once everything is written
        IOException first = null;
        for (AutoCloseable c : new AutoCloseable[] {replies, cost, errors, lock, lockFile}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof IOException io ? io : new IOException(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
