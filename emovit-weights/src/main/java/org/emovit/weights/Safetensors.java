package org.emovit.weights;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of JSON header
 * ({@code {"key": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}}, offsets
 * relative to the byte after the header), then the data. Files are memory-mapped; tensors are slices of the
 * mapping, never copies.
 */
public final class Safetensors {
    /** The safetensors reference implementation refuses headers over 100 MB. */
    static final long MAX_HEADER = 100L * 1024 * 1024;
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private Safetensors() {
    }

    /** Opens one .safetensors file (memory-mapped). */
    public static TensorSource open(Path file) {
        return SafetensorsFile.open(file);
    }

    /**
     * Opens a sharded checkpoint from its index ({@code model.safetensors.index.json}: {@code "weight_map"}
     * maps each key to a shard file name relative to the index's folder). Each shard is opened once.
     */
    public static TensorSource openIndex(Path indexJson) {
        return ShardedSource.open(indexJson);
    }

    /**
     * Opens {@code dir/model.safetensors}, or else {@code dir/model.safetensors.index.json}.
     *
     * @throws WeightsException if the folder has neither
     */
    public static TensorSource openDir(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new WeightsException(dir + " is not a directory" + (Files.exists(dir) ? "" : " (it does not exist)"));
        }
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return open(single);
        }
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openIndex(index);
        }
        StringBuilder msg = new StringBuilder("no " + SINGLE_FILE + " or " + INDEX_FILE + " in " + dir);
        try (var files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
            List<String> weights = names.stream()
                    .filter(n -> n.endsWith(".safetensors") || n.endsWith(".bin") || n.endsWith(".pth")
                            || n.endsWith(".pt") || n.endsWith(".index.json"))
                    .collect(Collectors.toList());
            if (!weights.isEmpty()) {
                msg.append("; weight-like files there: ").append(weights);
                if (weights.stream().anyMatch(n -> n.endsWith(".bin") || n.endsWith(".pth") || n.endsWith(".pt"))) {
                    msg.append(" (PyTorch checkpoints open with TorchCheckpoint.open)");
                }
            } else {
                msg.append(" (it holds ").append(names.size()).append(" entries, none of them weights)");
            }
        } catch (IOException e) {
            msg.append(" (cannot list it: ").append(e).append(')');
        }
        throw new WeightsException(msg.toString());
    }

    /**
     * Writes {@code tensors} (in map order) and {@code metadata} (may be null or empty) to {@code file}: the
     * data goes to a temporary file in the same folder, which is then renamed over {@code file} (atomically
     * where the file system allows).
     */
    public static void write(Path file, Map<String, RawTensor> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new java.util.TreeMap<>(metadata).forEach(meta::put);   // sorted: the same tensors give the same bytes
        }
        long offset = 0;
        List<RawTensor> order = new ArrayList<>(tensors.size());
        for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
            String key = e.getKey();
            RawTensor t = e.getValue();
            if (key == null || t == null) {
                throw new IllegalArgumentException("null key or tensor in tensors to write to " + file);
            }
            if (key.equals("__metadata__")) {
                throw new IllegalArgumentException("'__metadata__' cannot be a tensor name (writing " + file + ")");
            }
            ObjectNode entry = header.putObject(key);
            entry.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long end = offset + t.nbytes();
            entry.putArray("data_offsets").add(offset).add(end);
            offset = end;
            order.add(t);
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (IOException e) {
            throw new WeightsException("cannot encode the safetensors header for " + file + ": " + e, e);
        }
        int padded = (json.length + 7) / 8 * 8; // the data starts 8-byte aligned, as the reference writer does
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        Path target = file.toAbsolutePath();
        Path tmp = null;
        try {
            tmp = OutputFiles.temporaryBeside(target);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                writeFully(ch, head);
                for (RawTensor t : order) {
                    writeFully(ch, t.data());
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new WeightsException("cannot write " + file + ": " + e, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    static void readFully(FileChannel ch, ByteBuffer b, long position, Path file, String what) {
        try {
            long pos = position;
            while (b.hasRemaining()) {
                int n = ch.read(b, pos);
                if (n < 0) {
                    throw new WeightsException(file + " is truncated: end of file while reading " + what);
                }
                pos += n;
            }
            b.flip();
        } catch (IOException e) {
            throw new WeightsException("cannot read " + what + " of " + file + ": " + e, e);
        }
    }

    static FileChannel openChannel(Path file) {
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new WeightsException(file + " does not exist", e);
        } catch (IOException e) {
            throw new WeightsException("cannot open " + file + ": " + e, e);
        }
    }

    static String sampleKeys(Set<String> keys, String wanted) {
        String tail = wanted.contains(".") ? wanted.substring(wanted.lastIndexOf('.')) : wanted;
        List<String> similar = keys.stream().filter(k -> k.endsWith(tail)).limit(5).collect(Collectors.toList());
        if (similar.isEmpty()) {
            similar = keys.stream().limit(5).collect(Collectors.toList());
        }
        return keys.size() + " tensors, e.g. " + similar;
    }

    /** One memory-mapped .safetensors file. */
    static final class SafetensorsFile implements TensorSource {
        record Entry(String key, DType dtype, long[] shape, long begin, long end) {
        }

        private final Path file;
        private final Map<String, Entry> entries;
        private final Set<String> keys;
        private final Map<String, String> metadata;
        private final long dataStart;
        private final MappedRegions regions;

        private SafetensorsFile(Path file, Map<String, Entry> entries, Map<String, String> metadata, long dataStart,
                FileChannel ch) {
            this.file = file;
            this.entries = entries;
            this.keys = Collections.unmodifiableSet(entries.keySet());
            this.metadata = Collections.unmodifiableMap(metadata);
            this.dataStart = dataStart;
            List<long[]> rs = new ArrayList<>();
            for (Entry e : entries.values()) {
                rs.add(new long[] {dataStart + e.begin, e.end - e.begin});
            }
            this.regions = new MappedRegions(file, ch, rs);
        }

        static SafetensorsFile open(Path file) {
            FileChannel ch = openChannel(file);
            try {
                SafetensorsFile f = parse(file, ch);
                ch = null;
                return f;
            } finally {
                if (ch != null) {
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // already failing
                    }
                }
            }
        }

        private static SafetensorsFile parse(Path file, FileChannel ch) {
            long size;
            try {
                size = ch.size();
            } catch (IOException e) {
                throw new WeightsException("cannot read " + file + ": " + e, e);
            }
            if (size < 8) {
                throw new WeightsException(file + " is not a safetensors file: only " + size
                        + " bytes (truncated or empty)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file, "the header length");
            long n = lenBuf.getLong(0);
            if (lenBuf.get(0) == 'P' && lenBuf.get(1) == 'K') {
                throw new WeightsException(file + " is a zip archive, not a safetensors file (a PyTorch checkpoint? "
                        + "open it with TorchCheckpoint.open)");
            }
            if (n < 2 || n > MAX_HEADER) {
                throw new WeightsException(file + " is not a valid safetensors file: header length " + Long.toUnsignedString(n)
                        + " is out of range (file is " + size + " bytes)");
            }
            if (8 + n > size) {
                throw new WeightsException(file + " is truncated: the header says it is " + n + " bytes but the file has only "
                        + (size - 8) + " bytes after the length");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8, file, "the header");
            JsonNode root;
            try {
                root = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new WeightsException(file + " has a malformed safetensors header (not valid JSON): " + e.getMessage(), e);
            }
            if (root == null || !root.isObject()) {
                throw new WeightsException(file + " has a malformed safetensors header: not a JSON object");
            }
            long dataStart = 8 + n;
            long dataSize = size - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> f = it.next();
                String key = f.getKey();
                JsonNode v = f.getValue();
                if (key.equals("__metadata__")) {
                    if (!v.isObject()) {
                        throw new WeightsException(file + ": __metadata__ is not a JSON object");
                    }
                    v.fields().forEachRemaining(m -> metadata.put(m.getKey(),
                            m.getValue().isTextual() ? m.getValue().textValue() : m.getValue().toString()));
                    continue;
                }
                entries.put(key, parseEntry(file, key, v, dataSize));
            }
            checkOverlaps(file, entries);
            return new SafetensorsFile(file, entries, metadata, dataStart, ch);
        }

        private static Entry parseEntry(Path file, String key, JsonNode v, long dataSize) {
            String where = "tensor '" + key + "' in " + file;
            if (!v.isObject()) {
                throw new WeightsException(where + ": header entry is not a JSON object");
            }
            JsonNode dt = v.get("dtype");
            if (dt == null || !dt.isTextual()) {
                throw new WeightsException(where + ": missing or non-string \"dtype\"");
            }
            DType dtype;
            try {
                dtype = DType.fromSafetensors(dt.textValue());
            } catch (WeightsException e) {
                throw new WeightsException(where + ": " + e.getMessage(), e);
            }
            JsonNode sh = v.get("shape");
            if (sh == null || !sh.isArray()) {
                throw new WeightsException(where + ": missing or non-array \"shape\"");
            }
            long[] shape = new long[sh.size()];
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = sh.get(i);
                if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                    throw new WeightsException(where + ": bad shape " + sh);
                }
                shape[i] = d.longValue();
            }
            JsonNode off = v.get("data_offsets");
            if (off == null || !off.isArray() || off.size() != 2) {
                throw new WeightsException(where + ": missing or malformed \"data_offsets\" (want [begin, end])");
            }
            for (JsonNode o : off) {
                if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                    throw new WeightsException(where + ": bad data_offsets " + off);
                }
            }
            long begin = off.get(0).longValue();
            long end = off.get(1).longValue();
            if (end < begin) {
                throw new WeightsException(where + ": data_offsets " + off + " end before they begin");
            }
            if (end > dataSize) {
                throw new WeightsException(where + ": data_offsets " + off + " run past the end of the data ("
                        + dataSize + " bytes; the file is truncated or the header is wrong)");
            }
            long expected;
            try {
                expected = RawTensor.byteCount(dtype, shape);
            } catch (ArithmeticException e) {
                throw new WeightsException(where + ": shape " + sh + " is too large");
            }
            if (end - begin != expected) {
                throw new WeightsException(where + ": data_offsets " + off + " span " + (end - begin) + " bytes but "
                        + dtype + " " + Arrays.toString(shape) + " needs " + expected);
            }
            return new Entry(key, dtype, shape, begin, end);
        }

        private static void checkOverlaps(Path file, Map<String, Entry> entries) {
            List<Entry> sorted = new ArrayList<>(entries.values());
            sorted.removeIf(e -> e.end == e.begin);
            sorted.sort(Comparator.comparingLong(Entry::begin));
            for (int i = 1; i < sorted.size(); i++) {
                Entry a = sorted.get(i - 1);
                Entry b = sorted.get(i);
                if (b.begin < a.end) {
                    throw new WeightsException(file + ": tensors '" + a.key + "' [" + a.begin + ", " + a.end + ") and '"
                            + b.key + "' [" + b.begin + ", " + b.end + ") overlap");
                }
            }
        }

        @Override
        public Set<String> keys() {
            return keys;
        }

        @Override
        public boolean contains(String key) {
            return entries.containsKey(key);
        }

        @Override
        public RawTensor get(String key) {
            Entry e = entries.get(key);
            if (e == null) {
                throw new WeightsException("no tensor '" + key + "' in " + describe() + " (" + sampleKeys(keys, key) + ")");
            }
            ByteBuffer data = regions.slice(dataStart + e.begin, e.end - e.begin, "tensor '" + key + "'");
            return new RawTensor(e.dtype, e.shape, data);
        }

        /** Dtype and shape without touching the data. */
        Entry entry(String key) {
            return entries.get(key);
        }

        @Override
        public String describe() {
            return file.toString();
        }

        @Override
        public Map<String, String> metadata() {
            return metadata;
        }

        @Override
        public void close() {
            regions.close();
        }

        MappedRegions regions() {
            return regions;
        }
    }

    /** Several shard files behind one index. */
    static final class ShardedSource implements TensorSource {
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
                root = JSON.readTree(index.toFile());
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
                throw new WeightsException("no tensor '" + key + "' in " + describe() + " (" + sampleKeys(keys, key) + ")");
            }
            return s.get(key);
        }

        @Override
        public String describe() {
            return index + " (shards: " + shards.stream().map(s -> s.file.getFileName().toString())
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
}
