package org.emovit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.emovit.core.Errors;
import org.emovit.core.InstructionRecord;
import org.emovit.core.Turn;

/**
 * The instruction set EmoVIT trains on: all.json (a JSON list) or JSONL of
 * {"id", "image", "conversations": [{"from": "human", "value": Q}, {"from": "gpt", "value": A}, ...]}, images
 * resolved against an image root. A record whose image is missing, or that is malformed, is skipped and
 * reported, never fatal.
 */
public record InstructionSet(List<TrainingSample> records, List<String> skipped) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static InstructionSet read(Path file, Path imageRoot) {
        List<JsonNode> nodes = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            if (text.stripLeading().startsWith("[")) {
                JSON.readTree(text).forEach(nodes::add);
            } else {
                int line = 0;
                for (String l : text.split("\\R")) {
                    line++;
                    if (l.isBlank()) {
                        continue;
                    }
                    try {
                        nodes.add(JSON.readTree(l));
                    } catch (IOException e) {
                        skipped.add(file + " line " + line + ": not JSON: " + Errors.firstLine(e));
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read instruction set " + file + ": " + e.getMessage(), e);
        }
        List<TrainingSample> records = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            String where = file.getFileName() + " record " + i;
            InstructionRecord record;
            try {
                record = InstructionRecord.fromJson(nodes.get(i), "train");
            } catch (IllegalArgumentException e) {
                skipped.add(where + ": " + e.getMessage());
                continue;
            }
            if (record.conversations().size() < 2) {
                skipped.add(where + ": needs a human turn followed by a gpt turn");
                continue;
            }
            Path image = imageRoot.resolve(record.image());
            if (!Files.isRegularFile(image)) {
                skipped.add(where + ": image not found: " + image);
                continue;
            }
            List<Turn> conv = record.conversations();
            for (int t = 0; t + 1 < conv.size(); t += 2) {
                Turn q = conv.get(t), a = conv.get(t + 1);
                if (!"human".equals(q.from()) || !"gpt".equals(a.from())) {
                    skipped.add(where + " turn " + t + ": expected a human turn followed by a gpt turn");
                    break;
                }
                records.add(new TrainingSample(record.id(), image, q.value(), a.value()));
            }
        }
        return new InstructionSet(records, skipped);
    }
}
