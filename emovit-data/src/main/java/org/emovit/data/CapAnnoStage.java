package org.emovit.data;

import org.emovit.core.ProgressBar;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes {@code cap-ano/<emotion>/<name>.txt} for the selected images from their caption file and annotation, as
 * the seed's {@code cap-anno.py} does ({@link CapAnno}). An image without a caption file or with a missing or
 * malformed annotation is reported (with the file) and skipped. Files whose content would not change are left
 * alone, so a rerun is cheap.
 */
public final class CapAnnoStage {

    /** What a cap-anno run did. */
    public record Report(int selected, int written, int unchanged, List<DataIssue> skipped) {
        /** One line for a person. */
        public String summary() {
            return "cap-anno: " + selected + " selected, " + written + " written, " + unchanged + " unchanged, "
                    + skipped.size() + " skipped";
        }
    }

    private final EmoSet set;
    private final WorkDir work;
    private final PrintStream progress;

    public CapAnnoStage(EmoSet set, WorkDir work, PrintStream progress) {
        this.set = set;
        this.work = work;
        this.progress = Progress.orQuiet(progress);
    }

    public Report run(Selection selection) throws IOException {
        SplitList split = set.split(selection.split());
        SplitList.Selected sel = split.select(selection);
        List<DataIssue> skipped = new ArrayList<>(split.issues());
        skipped.addAll(sel.notes());
        int written = 0;
        int unchanged = 0;
        try (ProgressBar bar = new ProgressBar("cap-anno", sel.entries().size(), progress)) {
            for (SplitEntry e : sel.entries()) {
                Path captionFile = work.caption(e);
                if (!Files.isRegularFile(captionFile)) {
                    skipped.add(new DataIssue(e.key(), captionFile.toString(), "no caption file (run the caption stage)"));
                    bar.step(true);
                    continue;
                }
                String caption;
                try {
                    caption = PyText.readText(captionFile);
                } catch (IOException ex) {
                    skipped.add(DataIssue.of(e.key(), captionFile, "caption unreadable", ex));
                    bar.step(true);
                    continue;
                }
                Annotation a;
                try {
                    a = set.annotation(e);
                } catch (NoSuchFileException ex) {
                    skipped.add(new DataIssue(e.key(), ex.getFile(), ex.getReason() == null ? "not found" : ex.getReason()));
                    bar.step(true);
                    continue;
                } catch (IOException ex) {
                    skipped.add(new DataIssue(e.key(), set.annotationFile(e).toString(), ex.getMessage()));
                    bar.step(true);
                    continue;
                }
                byte[] text = CapAnno.block(caption, a).getBytes(StandardCharsets.UTF_8);
                Path out = work.capAno(e);
                if (Files.isRegularFile(out) && Arrays.equals(Files.readAllBytes(out), text)) {
                    unchanged++;
                } else {
                    DataFiles.write(out, text);
                    written++;
                }
                bar.step(false);
            }
        }
        return new Report(sel.entries().size(), written, unchanged, skipped);
    }
}
