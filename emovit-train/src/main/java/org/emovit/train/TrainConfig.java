package org.emovit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.emovit.core.Errors;

/**
 * Training settings, with EmoVIT's FT.yaml revisions as presets (spec section 4). A YAML file of the same
 * field names overrides a preset; a LAVIS FT.yaml (its `run:` section) is read too. Reading is strict: an
 * unknown key or a value out of range is an error naming the key as written and the file, never a silent default.
 *
 * @param clipGradNorm 0 = no clipping (LAVIS does not clip)
 * @param augment      LAVIS's blip2_image_train transform (random resized crop 0.5-1, flip); false = eval transform
 * @param maxSteps     stop after this many optimizer steps (0 = run all epochs)
 */
public record TrainConfig(double initLr, double minLr, double warmupLr, int warmupSteps, double weightDecay, int maxEpoch,
                          int batchSize, int accumGradIters, long seed, int maxTxtLen, int maxOutputTxtLen,
                          double clipGradNorm, boolean augment, int checkpointEvery, int maxSteps) {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** FT.yaml as the seed has it now (2025): the default. */
    public static TrainConfig emovit2025() {
        return new TrainConfig(1e-5, 1e-8, 1e-8, 30000, 0.005, 4, 1, 1, 42, 128, 256, 0, true, 1000, 0);
    }

    /** The first revision of FT.yaml (2024). */
    public static TrainConfig emovit2024() {
        return new TrainConfig(8e-6, 0, 1e-8, 1000, 5e-5, 4, 1, 1, 42, 128, 256, 0, true, 1000, 0);
    }

    public static TrainConfig preset(String name) {
        return switch (name) {
            case "emovit-2025", "emovit" -> emovit2025();
            case "emovit-2024" -> emovit2024();
            default -> throw new IllegalArgumentException("unknown training preset '" + name + "' (known: emovit-2025, emovit-2024)");
        };
    }

    /** Our field names with LAVIS's run-config name for each (null: LAVIS has none). */
    private static final Map<String, String> LAVIS_NAMES = lavisNames();

    /**
     * Keys of a LAVIS `run:` section that describe its distributed runner, evaluation or output rather than the
     * optimisation; they are accepted (so an FT.yaml reads as is) and have no effect here.
     */
    private static final Set<String> LAVIS_RUNNER_KEYS = Set.of("task", "lr_sched", "batch_size_eval", "num_workers", "max_len",
            "min_len", "num_beams", "output_dir", "amp", "resume_ckpt_path", "evaluate", "train_splits", "valid_splits", "test_splits",
            "device", "world_size", "dist_url", "distributed", "inference_type", "len_penalty", "log_freq");

    private static Map<String, String> lavisNames() {
        Map<String, String> m = new LinkedHashMap<>();
        for (RecordComponent c : TrainConfig.class.getRecordComponents()) {
            m.put(c.getName(), null);
        }
        m.put("initLr", "init_lr");
        m.put("minLr", "min_lr");
        m.put("warmupLr", "warmup_lr");
        m.put("warmupSteps", "warmup_steps");
        m.put("weightDecay", "weight_decay");
        m.put("maxEpoch", "max_epoch");
        m.put("batchSize", "batch_size_train");
        m.put("accumGradIters", "accum_grad_iters");
        m.put("seed", "seed");
        return m;
    }

    /**
     * This config with the fields of a YAML file (ours, or LAVIS's FT.yaml whose `run:` section is used). A key
     * that is neither one of our fields, nor its LAVIS name, nor a LAVIS runner key is an error (a misspelt
     * `batch_size` would otherwise leave the preset's value in place without a word), as is a value out of range.
     */
    public TrainConfig overriddenBy(Path yaml) {
        JsonNode root;
        try {
            root = YAML.readTree(yaml.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read training config " + yaml + ": " + e.getMessage(), e);
        }
        if (root == null || root.isMissingNode() || !root.isObject()) {
            throw new IllegalArgumentException("training config " + yaml + " is not a mapping of keys to values");
        }
        boolean lavis = root.has("run");
        JsonNode n = lavis ? root.get("run") : root;
        if (!n.isObject()) {
            throw new IllegalArgumentException("training config " + yaml + ": `run:` is not a mapping of keys to values");
        }
        ObjectNode mine = YAML.valueToTree(this);
        Map<String, String> writtenAs = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            String field = fieldOf(key);
            if (field != null) {
                mine.set(field, e.getValue());
                writtenAs.put(field, key);
            } else if (key.equals("lr_sched") && !e.getValue().asText().equals("linear_warmup_cosine_lr")) {
                throw new IllegalArgumentException("training config " + yaml + ": lr_sched '" + e.getValue().asText()
                        + "' is not supported (only linear_warmup_cosine_lr)");
            } else if (!LAVIS_RUNNER_KEYS.contains(key)) {
                throw new IllegalArgumentException("training config " + yaml + ": unknown key '" + key + "'" + (lavis ? " in run:" : "")
                        + " (did you mean '" + closest(key) + "'? known: " + String.join(", ", knownKeys(lavis)) + ")");
            }
        }
        TrainConfig read;
        try {
            read = YAML.treeToValue(mine, TrainConfig.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("bad value in training config " + yaml + ": " + Errors.firstLine(e), e);
        }
        List<String[]> problems = read.problems();
        if (!problems.isEmpty()) {
            String[] first = problems.get(0);
            throw new IllegalArgumentException("training config " + yaml + ": " + writtenAs.getOrDefault(first[0], first[0]) + " " + first[1]);
        }
        return read;
    }

    /** Our field for a YAML key (our name or LAVIS's), or null. */
    private static String fieldOf(String key) {
        if (LAVIS_NAMES.containsKey(key)) {
            return key;
        }
        for (Map.Entry<String, String> e : LAVIS_NAMES.entrySet()) {
            if (key.equals(e.getValue())) {
                return e.getKey();
            }
        }
        return null;
    }

    /** The names a file in this style would use: LAVIS's where there is one in a LAVIS file, ours otherwise. */
    private static List<String> knownKeys(boolean lavis) {
        List<String> keys = new ArrayList<>();
        LAVIS_NAMES.forEach((field, lavisName) -> keys.add(lavis && lavisName != null ? lavisName : field));
        return keys;
    }

    /** The known key nearest to a misspelt one (case and underscores aside), named in the key's own style. */
    private static String closest(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Map.Entry<String, String> e : LAVIS_NAMES.entrySet()) {
            int d = editDistance(squash(key), squash(e.getKey()));
            if (e.getValue() != null) {
                d = Math.min(d, editDistance(squash(key), squash(e.getValue())));
            }
            if (d < bestDistance) {
                best = key.contains("_") && e.getValue() != null ? e.getValue() : e.getKey();
                bestDistance = d;
            }
        }
        return best;
    }

    private static String squash(String name) {
        return name.toLowerCase(Locale.ROOT).replace("_", "");
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** Each out-of-range field as {field, "must be ..., got ..."}; empty when the config can train. */
    List<String[]> problems() {
        List<String[]> p = new ArrayList<>();
        // sizes divide the record count and step counter: zero or less means "/ by zero" or a run that never steps
        positive(p, "batchSize", batchSize);
        positive(p, "accumGradIters", accumGradIters);
        positive(p, "maxEpoch", maxEpoch);
        positive(p, "checkpointEvery", checkpointEvery);
        positive(p, "maxTxtLen", maxTxtLen);
        positive(p, "maxOutputTxtLen", maxOutputTxtLen);
        atLeastZero(p, "warmupSteps", warmupSteps);
        atLeastZero(p, "maxSteps", maxSteps);
        if (!(initLr > 0) || Double.isInfinite(initLr)) {
            p.add(new String[] {"initLr", "must be a positive number, got " + initLr});
        }
        atLeastZero(p, "minLr", minLr);
        atLeastZero(p, "warmupLr", warmupLr);
        atLeastZero(p, "weightDecay", weightDecay);
        atLeastZero(p, "clipGradNorm", clipGradNorm);
        return p;
    }

    private static void positive(List<String[]> p, String field, int value) {
        if (value <= 0) {
            p.add(new String[] {field, "must be a positive integer, got " + value});
        }
    }

    private static void atLeastZero(List<String[]> p, String field, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            p.add(new String[] {field, "must be 0 or more, got " + (value == Math.rint(value) && !Double.isInfinite(value) ? Long.toString((long) value) : Double.toString(value))});
        }
    }

    /** This config if every field is in range; otherwise an error naming the first bad field and where it came from. */
    public TrainConfig validated(String source) {
        List<String[]> problems = problems();
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(source + ": " + problems.get(0)[0] + " " + problems.get(0)[1]);
        }
        return this;
    }

    /**
     * The fields that differ from another config, as "key: old → new", leaving out those that may change
     * between the legs of one run (where it stops, how often it saves) without changing what it computes.
     */
    public List<String> differencesFrom(TrainConfig old) {
        ObjectNode was = YAML.valueToTree(old), now = YAML.valueToTree(this);
        List<String> out = new ArrayList<>();
        for (String field : LAVIS_NAMES.keySet()) {
            if (field.equals("maxSteps") || field.equals("checkpointEvery")) {
                continue;
            }
            if (!was.get(field).equals(now.get(field))) {
                out.add(field + ": " + was.get(field).asText() + " → " + now.get(field).asText());
            }
        }
        return out;
    }

    public TrainConfig withCheckpointEvery(int steps) {
        return new TrainConfig(initLr, minLr, warmupLr, warmupSteps, weightDecay, maxEpoch, batchSize, accumGradIters, seed,
                maxTxtLen, maxOutputTxtLen, clipGradNorm, augment, steps, maxSteps);
    }

    public TrainConfig withMaxSteps(int steps) {
        return new TrainConfig(initLr, minLr, warmupLr, warmupSteps, weightDecay, maxEpoch, batchSize, accumGradIters, seed,
                maxTxtLen, maxOutputTxtLen, clipGradNorm, augment, checkpointEvery, steps);
    }

    public String toYaml() {
        try {
            return YAML.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static TrainConfig fromYaml(String text) {
        try {
            return YAML.readValue(text, TrainConfig.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("bad training config: " + e.getMessage(), e);
        }
    }
}
