package org.emovit.weights;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Several shard files behind one index ({@code model.safetensors.index.json}). The index is checked against
 * the shards when it is opened (every listed tensor is where the index says), so a stale index fails at
 * open rather than at the first missing tensor.
 */
final class ShardedSource implements TensorSource {
    private final Path index;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> owner;
    private final Set<String> keys;
    private final Map<String, String> metadata;

    private ShardedSource(Path index, List<SafetensorsFile> shards, Map<String, SafetensorsFile> owner,
            Map<String, String> metadata) {
        this.index = index;
        this.shards = shards;
        this.owner = owner;
        this.keys = Collections.unmodifiableSet(owner.keySet());
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    static ShardedSource open(Path index) {
        JsonNode root;
        try {
            root = WeightFiles.JSON.readTree(index.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new WeightsException(index + " does not exist", e);
        } catch (IOException e) {
            throw new WeightsException(index + " is not a valid safetensors index (not valid JSON): " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new WeightsException(index + " is not a valid safetensors index: not a JSON object");
        }
        JsonNode wm = root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new WeightsException(index + " is not a valid safetensors index: no \"weight_map\" object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode md = root.get("metadata");
        if (md != null && md.isObject()) {
            md.fields().forEachRemaining(m -> metadata.put(m.getKey(),
                    m.getValue().isTextual() ? m.getValue().textValue() : m.getValue().toString()));
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> f = it.next();
                if (!f.getValue().isTextual()) {
                    throw new WeightsException(index + ": weight_map entry for '" + f.getKey() + "' is not a file name");
                }
                String shardName = f.getValue().textValue();
                SafetensorsFile shard = byName.get(shardName);
                if (shard == null) {
                    Path shardPath = dir.resolve(shardName);
                    if (!Files.isRegularFile(shardPath)) {
                        throw new WeightsException(index + ": shard " + shardName + " (holding '" + f.getKey()
                                + "') does not exist at " + shardPath);
                    }
                    shard = SafetensorsFile.open(shardPath);
                    byName.put(shardName, shard);
                }
                if (!shard.contains(f.getKey())) {
                    throw new WeightsException(index + " says tensor '" + f.getKey() + "' is in " + shard.describe()
                            + ", but that shard has no such tensor");
                }
                owner.put(f.getKey(), shard);
            }
            // Tensors a shard holds but the index does not list: still readable.
            for (SafetensorsFile shard : byName.values()) {
                for (String k : shard.keys()) {
                    owner.putIfAbsent(k, shard);
                }
            }
        } catch (RuntimeException e) {
            byName.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new ShardedSource(index, new ArrayList<>(byName.values()), owner, metadata);
    }

    @Override
    public Set<String> keys() {
        return keys;
    }

    @Override
    public boolean contains(String key) {
        return owner.containsKey(key);
    }

    @Override
    public RawTensor get(String key) {
        SafetensorsFile s = owner.get(key);
        if (s == null) {
            throw new WeightsException("no tensor '" + key + "' in " + describe() + " (" + WeightFiles.sampleKeys(keys, key) + ")");
        }
        return s.get(key);
    }

    @Override
    public void readInto(String key, java.nio.ByteBuffer target) {
        SafetensorsFile s = owner.get(key);
        if (s == null) {
            get(key);   // the error message
        }
        s.readInto(key, target);
    }

    @Override
    public String describe() {
        return index + " (shards: " + shards.stream().map(s -> s.file().getFileName().toString())
                .collect(Collectors.joining(", ")) + ")";
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    int shardCount() {
        return shards.size();
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }
}
