package org.emovit.data;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.emovit.core.ProgressBar;
import org.emovit.image.ImageDecodeException;
import org.emovit.image.ImageDecoder;
import org.emovit.image.RgbImage;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes a folder of one's own labelled images usable by the pipeline: for every image under
 * {@code image/<emotion>/} without an annotation, writes {@code annotation/<emotion>/<name>.json} with
 * {@code emotion} and the pixel-computed {@code brightness} and {@code colorfulness} ({@link Attributes}), and
 * writes a split list of the images (e.g. {@code train.json}) when there is none. Undecodable images are
 * reported and left out.
 */
public final class AnnotateStage {

    /**
     * @param overwrite  recompute annotations that exist, and rewrite the split list
     * @param splitName  the split list to write ({@code train} gives {@code <root>/train.json}), or null for none
     */
    public record Options(boolean overwrite, String splitName) {
        public static Options defaults() {
            return new Options(false, "train");
        }
    }

    /** What an annotate run did. */
    public record Report(int images, int written, int kept, List<DataIssue> issues, Path splitFile) {
        /** One line for a person. */
        public String summary() {
            return "annotate: " + images + " images, " + written + " annotations written, " + kept + " kept"
                    + Issues.count(issues) + (splitFile == null ? "" : "; split list " + splitFile);
        }
    }

    private final EmoSet set;
    private final PrintStream progress;

    public AnnotateStage(EmoSet set, PrintStream progress) {
        this.set = set;
        this.progress = Progress.orQuiet(progress);
    }

    public Report run(Options o) throws IOException {
        SplitList all = set.scanImageFolders();
        List<DataIssue> issues = new ArrayList<>(all.issues());
        List<SplitEntry> usable = new ArrayList<>();
        int written = 0;
        int kept = 0;
        try (ProgressBar bar = new ProgressBar("annotate", all.entries().size(), progress)) {
            for (SplitEntry e : all.entries()) {
                Path ann = set.annotationFile(e);
                if (!o.overwrite() && Files.isRegularFile(ann)) {
                    kept++;
                    usable.add(e);
                    bar.step(false);
                    continue;
                }
                RgbImage img;
                String unreadable = DataFiles.unreadable(set.imageFile(e));
                if (unreadable != null) {
                    issues.add(new DataIssue(e.key(), set.imageFile(e).toString(), unreadable));
                    bar.step(true);
                    continue;
                }
                try {
                    img = ImageDecoder.decode(set.imageFile(e));
                } catch (ImageDecodeException ex) {
                    issues.add(DataIssue.of(e.key(), set.imageFile(e), null, ex));
                    bar.step(true);
                    continue;
                }
                Attributes.Values v = Attributes.of(img);
                ObjectNode n = JsonNodeFactory.instance.objectNode();
                n.put("emotion", e.emotion().label());
                n.put("brightness", v.brightness());
                n.put("colorfulness", v.colorfulness());
                DataFiles.writeString(ann, PythonJson.dumps(n, -1));
                written++;
                usable.add(e);
                bar.step(false);
            }
        }
        Path splitFile = null;
        if (o.splitName() != null) {
            Path f = set.splitFile(o.splitName());
            if (o.overwrite() || !Files.exists(f)) {
                EmoSet.writeSplit(f, usable);
                splitFile = f;
            } else {
                issues.add(new DataIssue(o.splitName(), f.toString(), "split list exists; not rewritten"));
            }
        }
        return new Report(all.entries().size(), written, kept, issues, splitFile);
    }
}
