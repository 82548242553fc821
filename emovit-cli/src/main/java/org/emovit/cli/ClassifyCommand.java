package org.emovit.cli;

import org.emovit.batch.BatchClassifier;
import org.emovit.options.ClassificationOptions;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.emovit.attribution.HeatmapRequest;
import org.emovit.attribution.PatchMap;
import org.emovit.core.Emotion;
import org.emovit.core.EmotionJson;
import org.emovit.core.Errors;
import org.emovit.core.ProgressBar;
import org.emovit.core.ResultsFile;
import org.emovit.api.EmbeddedModel;
import org.emovit.api.EmoVit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Which emotion each image evokes, with a probability for each of the 8. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = {"Classify images (files or directories) into the 8 emotions.",
                "On a terminal: a table; with --output or when piped: JSON Lines {\"image\", \"emotion\", \"probabilities\"}.",
                "Images that cannot be read are reported one by one (an \"error\" field) and the exit code is 2; the rest are classified.",
                "With --output, a rerun skips the images already in the file.",
                "With --heatmap DIR, where in each image its emotion comes from: an overlay PNG per image and the patch grid in the JSON."})
public final class ClassifyCommand implements Callable<Integer> {

    @Mixin
    ClassificationOptions options;

    @Option(names = "--fresh", description = "Start over when --output holds results of another model or mode (otherwise that is an error).")
    boolean fresh;

    @Parameters(arity = "0..*", paramLabel = "IMAGE|DIR", description = "Images or directories of images (default: the embedded samples).")
    List<Path> inputs = new ArrayList<>();

    @Option(names = "--output", paramLabel = "FILE.jsonl", description = "Write JSON Lines here (appending; images already present are skipped).")
    Path output;

    @Option(names = "--heatmap", paramLabel = "DIR",
            description = "Also map where in each image its emotion comes from: an overlay PNG per image in DIR, the grid in the JSON (\"heatmap\").")
    Path heatmap;

    @Option(names = "--heatmap-method", paramLabel = "grad-cam|rollout",
            description = "With --heatmap: grad-cam: the answer's gradient x the patches (a backward pass per image; default); rollout: the Q-Former's attention (no gradients, the same map for every emotion).")
    String heatmapMethod;

    @Option(names = "--heatmap-emotion", paramLabel = "LABEL",
            description = "With --heatmap: map this emotion (one of the 8) in every image instead of each image's predicted one.")
    String heatmapEmotion;

    @Spec
    CommandSpec spec;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        // options first: a mistyped one is the only line the user sees
        options.check();
        if (fresh && output == null) {
            throw new IllegalArgumentException("--fresh only applies with --output FILE");
        }
        for (String[] option : new String[][] {{"--heatmap-method", heatmapMethod}, {"--heatmap-emotion", heatmapEmotion}}) {
            if (option[1] != null && heatmap == null) {
                throw new IllegalArgumentException(option[0] + " only applies with --heatmap DIR");
            }
        }
        PatchMap.Method method = heatmap == null ? null
                : heatmapMethod == null ? PatchMap.Method.GRAD_CAM : PatchMap.Method.parse(heatmapMethod, "--heatmap-method");
        Emotion mapped = heatmapEmotion == null ? null : Emotion.parse(heatmapEmotion, "--heatmap-emotion");
        List<Path> images = inputs.isEmpty()
                ? EmbeddedModel.SAMPLES.stream().map(EmbeddedModel::sample).toList()
                : ImageInputs.expand(inputs);
        if (options.model().isEmbedded()) {
            err.println(EmbeddedModel.NOTE);
        }
        HeatmapFiles overlays = heatmap == null ? null : new HeatmapFiles(heatmap);
        ResultsFile file = output == null ? null
                : ResultsFile.open(output, "image", provenance(method, mapped), fresh, r -> mapIsThere(r, overlays));
        Set<String> done = file != null ? file.done() : Set.of();
        List<BatchClassifier.Item> todo = new ArrayList<>();
        for (Path p : images) {
            if (!done.contains(p.toString())) {
                todo.add(new BatchClassifier.Item(p.toString(), p));
            }
        }
        if (!done.isEmpty()) {
            err.printf(Locale.ROOT, "%d image(s) already in %s, skipped%n", images.size() - todo.size(), output);
        }
        boolean table = output == null && System.console() != null;
        int[] failures = {0};
        List<String[]> rows = new ArrayList<>();
        try (file; EmoVit emovit = options.model().spec().open();
             ProgressBar progress = todo.size() > 1 ? new ProgressBar("classify", todo.size(), System.err) : null) {
            options.classifier(emovit).mapping(method == null ? null : new HeatmapRequest(method, mapped)).run(todo, outcome -> {
                ObjectNode line = jsonLine(outcome, overlays);
                if (line.hasNonNull("error")) {
                    failures[0]++;
                }
                try {
                    if (file != null) {
                        file.append(line);
                    } else if (!table) {
                        out.println(JSON.writeValueAsString(line));
                        out.flush();
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write " + output + ": " + e.getMessage(), e);
                }
                rows.add(tableRow(outcome, line));
            }, progress);
        }
        if (table) {
            printTable(out, rows);
        }
        if (failures[0] > 0) {
            err.printf(Locale.ROOT, "%d of %d image(s) failed (see the \"error\" field)%n", failures[0], todo.size());
            return 2;
        }
        return 0;
    }

    /** What made a results file; with --heatmap its method (and emotion) too, so a rerun never mixes different maps. */
    private Map<String, String> provenance(PatchMap.Method method, Emotion mapped) {
        Map<String, String> p = new TreeMap<>(options.provenance());
        if (method != null) {
            p.put("heatmap", method.label());
        }
        if (mapped != null) {
            p.put("heatmap_emotion", mapped.label());
        }
        return p;
    }

    /**
     * Whether a results line from an earlier run is complete: without --heatmap always; with it, a line whose map is
     * missing or is another image's (a file an earlier version named after the file name alone) is done again.
     */
    private static boolean mapIsThere(JsonNode line, HeatmapFiles overlays) throws IOException {
        JsonNode map = line.get("heatmap");
        if (overlays == null || map == null || map.isNull()) {
            return true;   // null: a generated answer outside the 8 leaves nothing to map
        }
        return overlays.holds(line.get("image").asText(), map.path("overlay").asText(null));
    }

    /** The image's JSON line; its overlay is drawn first, and an overlay that cannot be written fails the image. */
    static ObjectNode jsonLine(BatchClassifier.Outcome o, HeatmapFiles overlays) {
        ObjectNode n = JSON.createObjectNode();
        n.put("image", o.item().id());
        if (o.error() != null) {
            return EmotionJson.writeError(n, o.error());
        }
        String overlay = null;
        if (o.heatmap() != null) {
            try {
                overlay = overlays.write(o.item().id(), o.heatmap()).toString();
            } catch (IOException | RuntimeException e) {
                return EmotionJson.writeError(n, "heat map not written: " + Errors.forUser(e));
            }
        }
        EmotionJson.write(n, o.result(), o.explanation());
        return o.heatmap() == null ? n : o.heatmap().map().writeJson(n, overlay);
    }

    private static String[] tableRow(BatchClassifier.Outcome o, ObjectNode line) {
        if (line.hasNonNull("error")) {
            return new String[] {o.item().id(), "ERROR", line.get("error").asText()};
        }
        EmoVit.Result r = o.result();
        String detail = r.probabilities().isEmpty() ? r.generated()
                : String.format(Locale.ROOT, "%.1f%%", 100 * r.probabilities().get(r.label()));
        return new String[] {o.item().id(), r.label() == null ? "(no answer)" : r.label(), detail};
    }

    private static void printTable(PrintWriter out, List<String[]> rows) {
        int w = "image".length();
        for (String[] r : rows) {
            w = Math.max(w, r[0].length());
        }
        out.printf(Locale.ROOT, "%-" + w + "s  %-12s  %s%n", "image", "emotion", "probability / answer");
        for (String[] r : rows) {
            out.printf(Locale.ROOT, "%-" + w + "s  %-12s  %s%n", r[0], r[1], r[2]);
        }
        out.flush();
    }
}
