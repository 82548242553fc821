package org.emovit.weights;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One memory-mapped .safetensors file. The header is checked whole when the file is opened (dtypes, shapes
 * against byte spans, spans inside the data and not overlapping), so a bad file fails at open, naming the
 * tensor, rather than later inside a model.
 */
final class SafetensorsFile implements TensorSource {
    /** The safetensors reference implementation refuses headers over 100 MB. */
    static final long MAX_HEADER = 100L * 1024 * 1024;

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
        FileChannel ch = WeightFiles.openChannel(file);
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
        WeightFiles.readFully(ch, lenBuf, 0, file, "the header length");
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
        WeightFiles.readFully(ch, hb, 8, file, "the header");
        JsonNode root;
        try {
            root = WeightFiles.JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            // Jackson's message goes on with the location on further lines: its first part is what is wrong
            String why = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new WeightsException(file + " has a malformed safetensors header (not valid JSON): "
                    + String.valueOf(why).lines().findFirst().orElse(""), e);
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
            throw new WeightsException("no tensor '" + key + "' in " + describe() + " (" + WeightFiles.sampleKeys(keys, key) + ")");
        }
        ByteBuffer data = regions.slice(dataStart + e.begin, e.end - e.begin, "tensor '" + key + "'");
        return new RawTensor(e.dtype, e.shape, data);
    }

    @Override
    public void readInto(String key, ByteBuffer target) {
        Entry e = entries.get(key);
        if (e == null) {
            get(key);   // the error message
        }
        regions.read(dataStart + e.begin, e.end - e.begin, target, "tensor '" + key + "'");
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

    Path file() {
        return file;
    }
}
