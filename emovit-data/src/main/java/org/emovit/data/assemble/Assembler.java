package org.emovit.data.assemble;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.emovit.core.Emotion;
import org.emovit.core.InstructionRecord;
import org.emovit.core.JsonlFile;
import org.emovit.core.ProgressBar;
import org.emovit.core.Prompts;
import org.emovit.core.Turn;
import org.emovit.data.DataFiles;
import org.emovit.data.DataIssue;
import org.emovit.data.EmoSet;
import org.emovit.data.Progress;
import org.emovit.data.PyText;
import org.emovit.data.PythonJson;
import org.emovit.data.PythonRandom;
import org.emovit.data.Selection;
import org.emovit.data.SplitEntry;
import org.emovit.data.SplitList;
import org.emovit.data.InstructionKind;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Builds the instruction set as the seed's {@code all.py} does: one record per question / answer pair of every
 * reasoning and conversation reply ({@link QaParser}), the categorical records (per class, train indices
 * 1000..5599 by default, human = {@link Prompts.CLASSIFICATION_INSTRUCTION}, gpt = "Predict emotion: e"), plus any
 * imported released sets; shuffled with a seed; written as {@code all.json} (Python's {@code json.dump(...,
 * indent=2)} format, as the seed writes it), {@code all.jsonl} (one record a line) and a summary.
 *
 * <p>Order before the shuffle: reasoning, conversation (each class in alphabetical order, images by name),
 * categorical (class, then index), imports (file order). The shuffle is Python's {@code random.seed(s);
 * random.shuffle(out)}, so with the same order Python gives the same permutation.
 *
 * <p>Ids and image names follow the seed: a reply's id is {@code name.split('_')[1][:5]} (the last 5 characters
 * when the name has no underscore), a categorical record's is {@code name[-5:]}; the image is the image file name
 * ({@code name.split('.')[0] + '.jpg'} for replies read from the seed's folders).
 */
public final class Assembler {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Replies of one kind: a {@code <kind>.jsonl} written by the generate stage, or a seed-layout folder. */
    public record ReplySource(InstructionKind kind, Path path) {
    }

    /** A released set (a JSON list of records, or JSONL) added as it is, under a kind name for the summary. */
    public record ImportSource(String kind, Path path) {
    }

    /**
     * @param replies     reply sources
     * @param categorical the categorical records' images (default: train, 1000..5599 per class), or null for none
     * @param imports     released sets to add
     * @param shuffleSeed the shuffle's seed, or null to keep the order
     * @param allJson     output (Python {@code json.dump} format), or null
     * @param allJsonl    output (JSON Lines), or null
     * @param summaryJson output summary, or null
     */
    public record Options(List<ReplySource> replies, Selection categorical, List<ImportSource> imports,
                          Long shuffleSeed, Path allJson, Path allJsonl, Path summaryJson) {
        public Options {
            replies = List.copyOf(replies);
            imports = List.copyOf(imports);
        }
    }

    /**
     * What assembly produced.
     *
     * @param total                 records written
     * @param byKindAndClass        records per kind ({@code reasoning}, {@code conversation}, {@code categorical},
     *                              import kinds), then per class ({@code unknown} when the image name does not
     *                              start with an emotion)
     * @param repliesUsed           replies that gave at least one record, per kind
     * @param skipped               what was left out, and why
     */
    public record Summary(int total, Map<String, Map<String, Integer>> byKindAndClass, Map<String, Integer> repliesUsed,
                          List<DataIssue> skipped, Long shuffleSeed) {

        /** One line for a person: the total, per kind, and what was left out. */
        public String line() {
            StringBuilder sb = new StringBuilder("assemble: ").append(total).append(" records");
            StringJoiner kinds = new StringJoiner(", ", " (", ")");
            kinds.setEmptyValue("");
            byKindAndClass.forEach((kind, m) -> kinds.add(kind + " " + m.values().stream().mapToInt(Integer::intValue).sum()));
            sb.append(kinds).append(", ").append(skipped.size()).append(" skipped");
            return sb.toString();
        }

        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("total", total);
            ObjectNode k = o.putObject("records_by_kind");
            byKindAndClass.forEach((kind, m) -> {
                ObjectNode c = k.putObject(kind);
                c.put("total", m.values().stream().mapToInt(Integer::intValue).sum());
                m.forEach(c::put);
            });
            ObjectNode r = o.putObject("replies_used");
            repliesUsed.forEach(r::put);
            if (shuffleSeed != null) {
                o.put("shuffle_seed", shuffleSeed);
            } else {
                o.putNull("shuffle_seed");
            }
            o.put("skipped_count", skipped.size());
            ArrayNode s = o.putArray("skipped");
            for (DataIssue d : skipped) {
                ObjectNode x = s.addObject();
                x.put("item", d.item());
                x.put("path", d.path());
                x.put("reason", d.reason());
            }
            return o;
        }
    }

    /** The records and their summary. */
    public record Result(List<InstructionRecord> records, Summary summary) {
    }

    private final EmoSet set;
    private final PrintStream progress;

    public Assembler(EmoSet set, PrintStream progress) {
        this.set = set;
        this.progress = Progress.orQuiet(progress);
    }

    public Result run(Options o) throws IOException {
        List<InstructionRecord> out = new ArrayList<>();
        List<DataIssue> skipped = new ArrayList<>();
        Map<String, Integer> repliesUsed = new LinkedHashMap<>();
        List<Reply> replies = new ArrayList<>();
        for (ReplySource src : o.replies()) {
            replies.addAll(readReplies(src, skipped));
        }
        Set<String> seen = new HashSet<>();
        try (ProgressBar bar = new ProgressBar("assemble", replies.size(), progress)) {
            for (InstructionKind kind : InstructionKind.values()) {
                for (Reply r : replies) {
                    if (r.kind != kind) {
                        continue;
                    }
                    if (!seen.add(kind.label() + "/" + r.image)) {
                        skipped.add(new DataIssue(r.emotion + "/" + r.name, r.where,
                                "a second " + kind.label() + " reply for this image; the first is used"));
                        bar.step(true);
                        continue;
                    }
                    List<QaParser.QaPair> pairs = QaParser.parse(kind, r.text);
                    if (pairs.isEmpty()) {
                        skipped.add(new DataIssue(r.emotion + "/" + r.name, r.where,
                                "no \"Question: ... Answer: ...\" pair in the reply"));
                        bar.step(true);
                        continue;
                    }
                    for (QaParser.QaPair p : pairs) {
                        out.add(new InstructionRecord(r.id, r.image, List.of(Turn.human(p.question()),
                                Turn.gpt(p.answer())), kind.label(), r.emotion));
                    }
                    repliesUsed.merge(kind.label(), 1, Integer::sum);
                    bar.step(false);
                }
            }
        }
        if (o.categorical() != null) {
            SplitList split = set.split(o.categorical().split());
            skipped.addAll(split.issues());
            SplitList.Selected sel = split.select(o.categorical());
            skipped.addAll(sel.notes());
            for (SplitEntry e : sel.entries()) {
                out.add(new InstructionRecord(e.id(), e.imageFileName(),
                        List.of(Turn.human(Prompts.CLASSIFICATION_INSTRUCTION),
                                Turn.gpt(Prompts.answer(e.emotion()))),
                        "categorical", e.emotion().label()));
            }
        }
        for (ImportSource imp : o.imports()) {
            out.addAll(readImport(imp, skipped));
        }
        if (o.shuffleSeed() != null) {
            new PythonRandom(o.shuffleSeed()).shuffle(out);
        }
        Summary summary = new Summary(out.size(), count(out), repliesUsed, skipped, o.shuffleSeed());
        if (o.allJson() != null) {
            DataFiles.write(o.allJson(), allJson(out).getBytes(StandardCharsets.UTF_8));
        }
        if (o.allJsonl() != null) {
            StringBuilder sb = new StringBuilder();
            for (InstructionRecord r : out) {
                sb.append(JSON.writeValueAsString(r.toJson())).append('\n');
            }
            DataFiles.write(o.allJsonl(), sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        if (o.summaryJson() != null) {
            DataFiles.write(o.summaryJson(),
                    (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary.toJson()) + "\n")
                            .getBytes(StandardCharsets.UTF_8));
        }
        return new Result(out, summary);
    }

    /** The text of {@code all.json}: {@code json.dump(records, f, indent=2)}. */
    public static String allJson(List<InstructionRecord> records) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (InstructionRecord r : records) {
            a.add(r.toJson());
        }
        return PythonJson.dumps(a, 2);
    }

    private static Map<String, Map<String, Integer>> count(List<InstructionRecord> records) {
        Map<String, Map<String, Integer>> m = new LinkedHashMap<>();
        for (InstructionRecord r : records) {
            m.computeIfAbsent(r.kind(), k -> new TreeMap<>()).merge(r.emotion(), 1, Integer::sum);
        }
        Map<String, Map<String, Integer>> sorted = new LinkedHashMap<>();
        for (String k : new String[] {"reasoning", "conversation", "categorical"}) {
            if (m.containsKey(k)) {
                sorted.put(k, m.remove(k));
            }
        }
        sorted.putAll(m);
        return sorted;
    }

    /** One reply to parse. */
    private record Reply(InstructionKind kind, String emotion, String name, String id, String image, String text,
                         String where) {
    }

    private List<Reply> readReplies(ReplySource src, List<DataIssue> skipped) throws IOException {
        List<Reply> out = new ArrayList<>();
        Path p = src.path();
        if (Files.isDirectory(p)) {
            List<Path> classDirs;
            try (Stream<Path> s = Files.list(p)) {
                classDirs = s.filter(Files::isDirectory).sorted().toList();
            }
            for (Path dir : classDirs) {
                String emotion = dir.getFileName().toString();
                List<Path> files;
                try (Stream<Path> s = Files.list(dir)) {
                    files = s.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().endsWith(".txt"))
                            .sorted().toList();
                }
                for (Path f : files) {
                    String fn = f.getFileName().toString();
                    String text;
                    try {
                        text = PyText.readText(f);
                    } catch (IOException e) {
                        skipped.add(DataIssue.of(emotion + "/" + fn, f, "unreadable", e));
                        continue;
                    }
                    String name = fn.substring(0, fn.length() - 4);
                    out.add(new Reply(src.kind(), emotion, name, replyId(fn), pySplitFirst(fn, '.') + ".jpg", text,
                            f.toString()));
                }
            }
        } else if (Files.isRegularFile(p)) {
            JsonlFile.Contents<com.fasterxml.jackson.databind.JsonNode> c = JsonlFile.read(p);
            for (String problem : c.problems()) {
                skipped.add(new DataIssue(null, p.toString(), problem));
            }
            for (JsonNode r : c.records()) {
                String name = r.path("name").asText("");
                String emotion = r.path("emotion").asText("");
                if (!r.path("response").isTextual() || name.isEmpty()) {
                    skipped.add(new DataIssue(r.path("key").asText(null), p.toString(),
                            "record without name or response"));
                    continue;
                }
                String image = r.path("image").asText("");
                out.add(new Reply(src.kind(), emotion, name, replyId(name),
                        image.isEmpty() ? pySplitFirst(name, '.') + ".jpg" : image,
                        PyText.universalNewlines(r.get("response").textValue()), p + " (" + r.path("key").asText() + ")"));
            }
        } else {
            skipped.add(new DataIssue(src.kind().label(), p.toString(), "reply source not found"));
        }
        return out;
    }

    /** The seed's reply id: {@code name.split('_')[1][:5]}, or the last 5 characters when there is no underscore. */
    public static String replyId(String fileName) {
        int u = fileName.indexOf('_');
        if (u < 0) {
            String stem = pySplitFirst(fileName, '.');
            return stem.length() <= 5 ? stem : stem.substring(stem.length() - 5);
        }
        int v = fileName.indexOf('_', u + 1);
        String part = v < 0 ? fileName.substring(u + 1) : fileName.substring(u + 1, v);
        return part.length() <= 5 ? part : part.substring(0, 5);
    }

    private static String pySplitFirst(String s, char c) {
        int i = s.indexOf(c);
        return i < 0 ? s : s.substring(0, i);
    }

    private List<InstructionRecord> readImport(ImportSource imp, List<DataIssue> skipped) throws IOException {
        List<InstructionRecord> out = new ArrayList<>();
        Path p = imp.path();
        if (!Files.isRegularFile(p)) {
            skipped.add(new DataIssue(imp.kind(), p.toString(), "import file not found"));
            return out;
        }
        List<JsonNode> items = new ArrayList<>();
        // a JSON list or JSON Lines, told by the first byte that is not white space (read as bytes: a decoder
        // would stop at a non-UTF-8 byte with "Input length = 1" and no file name; the JSON readers name it)
        int first = -1;
        try (var in = new java.io.BufferedInputStream(Files.newInputStream(p))) {
            int b;
            while ((b = in.read()) >= 0) {
                if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                    first = b;
                    break;
                }
            }
        }
        if (first == '[') {
            JsonNode top;
            try {
                top = JSON.readTree(p.toFile());
            } catch (JsonProcessingException e) {
                skipped.add(new DataIssue(imp.kind(), p.toString(), "not valid JSON: " + e.getOriginalMessage()));
                return out;
            }
            top.forEach(items::add);
        } else {
            JsonlFile.Contents<com.fasterxml.jackson.databind.JsonNode> c = JsonlFile.read(p);
            c.problems().forEach(x -> skipped.add(new DataIssue(imp.kind(), p.toString(), x)));
            items.addAll(c.records());
        }
        for (int i = 0; i < items.size(); i++) {
            try {
                out.add(InstructionRecord.fromJson(items.get(i), imp.kind()));
            } catch (IllegalArgumentException e) {
                skipped.add(new DataIssue(p.getFileName() + "[" + i + "]", p.toString(), e.getMessage()));
            }
        }
        return out;
    }
}
