package org.emovit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * Training settings, with EmoVIT's FT.yaml revisions as presets (spec section 4). A YAML file of the same
 * field names overrides a preset; a LAVIS FT.yaml (its `run:` section) is read too.
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

    /** This config with the fields of a YAML file (ours, or LAVIS's FT.yaml whose `run:` section is used). */
    public TrainConfig overriddenBy(Path yaml) {
        JsonNode root;
        try {
            root = YAML.readTree(yaml.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read training config " + yaml + ": " + e.getMessage(), e);
        }
        JsonNode n = root.has("run") ? root.get("run") : root;
        ObjectNode mine = YAML.valueToTree(this);
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String field = lavisName(e.getKey());
            if (mine.has(field)) {
                mine.set(field, e.getValue());
            }
        }
        try {
            return YAML.treeToValue(mine, TrainConfig.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("bad value in training config " + yaml + ": " + e.getMessage(), e);
        }
    }

    /** LAVIS run-config names for our fields. */
    private static String lavisName(String key) {
        return switch (key) {
            case "init_lr" -> "initLr";
            case "min_lr" -> "minLr";
            case "warmup_lr" -> "warmupLr";
            case "warmup_steps" -> "warmupSteps";
            case "weight_decay" -> "weightDecay";
            case "max_epoch" -> "maxEpoch";
            case "batch_size_train" -> "batchSize";
            case "accum_grad_iters" -> "accumGradIters";
            default -> key;
        };
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
