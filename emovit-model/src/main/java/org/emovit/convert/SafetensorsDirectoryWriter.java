package org.emovit.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import org.emovit.core.AtomicFiles;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.ModelLoadException;
import org.emovit.weights.Safetensors;

/**
 * Writes named tensors as a Hugging Face safetensors directory: {@code model.safetensors}, or shards
 * {@code model-0000i-of-0000N.safetensors} with {@code model.safetensors.index.json} when they exceed one shard.
 *
 * <p>Unlike {@link Safetensors#write}, which takes every tensor as one buffer, the data is streamed from the
 * tensors' own memory one piece at a time, converted piece by piece when the stored dtype differs (a 7B model is
 * never copied whole), and the layout is chosen for
 * mapping in place: the header is padded so the data starts 64-byte aligned, and tensors whose sizes are multiples of
 * 64 bytes come first (every one of them then starts 64-byte aligned, as allocator memory would; the format
 * allows no gaps between tensors). The order is fixed by names and sizes alone, so the same tensors give the
 * same bytes.
 */
public final class SafetensorsDirectoryWriter {
    static final int ALIGNMENT = 64;
    /** Bytes written per call: below a ByteBuffer's 2 GiB limit whatever a tensor's size. */
    private static final long PIECE = 1L << 28;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SafetensorsDirectoryWriter() {}

    /** What {@link #write} wrote: the files in order, and the bytes of tensor data in them. */
    public record Written(List<Path> files, long tensorBytes) {}

    /**
     * One tensor to write, made when its turn comes: a converter can derive it (an int8 weight) while writing, so the
     * derived model is never held whole.
     *
     * @param floating whether it is a floating-point tensor (stored in the target dtype)
     * @param data     the tensor; what it allocates is freed once its bytes are written
     */
    public record Entry(String name, long[] shape, ScalarType type, boolean floating, java.util.function.Supplier<Tensor> data) {
        /** A tensor that exists already. */
        public static Entry of(String name, Tensor t) {
            return new Entry(name, org.emovit.model.Tensors.shape(t), t.scalar_type().intern(), t.is_floating_point(), () -> t);
        }
    }

    /** One tensor to write, and the dtype (and its size) to store it in. */
    private record Item(Entry entry, ScalarType type, String dtype, long bytes) {
        String name() {
            return entry.name();
        }
    }

    /**
     * @param tensors       by name, each in any dtype and on any device
     * @param dtype         the dtype floating-point tensors are stored in (converted a piece at a time, so the model
     *                      is never held twice), or null to store each in its own; other tensors keep theirs
     * @param maxShardBytes a shard's data size above which the next tensor starts a new shard
     * @return the files written, in order, and the tensor bytes they store
     */
    public static Written write(Path dir, Map<String, Tensor> tensors, ScalarType dtype, long maxShardBytes) {
        return write(dir, tensors.entrySet().stream().map(e -> Entry.of(e.getKey(), e.getValue())).toList(), dtype, maxShardBytes);
    }

    /** As {@link #write(Path, Map, ScalarType, long)}, for tensors made as they are written. */
    public static Written write(Path dir, List<Entry> entries, ScalarType dtype, long maxShardBytes) {
        List<Item> items = new ArrayList<>();
        for (Entry e : entries) {
            // Quantised weights' scales (and zeros) keep their own dtype whatever the target dtype.
            boolean scale = org.emovit.model.quant.StoredFormat.isSibling(e.name());
            ScalarType type = dtype != null && e.floating() && !scale ? dtype.intern() : e.type();
            long numel = 1;
            for (long d : e.shape()) {
                numel *= d;
            }
            long bytes = numel * elementBytes(e.name(), type);
            items.add(new Item(e, type, dtypeName(e.name(), type), bytes));
        }
        items.sort(Comparator.comparing((Item i) -> i.bytes % ALIGNMENT != 0).thenComparing(Item::name));

        List<List<Item>> shards = new ArrayList<>();
        List<Item> current = new ArrayList<>();
        long size = 0;
        for (Item i : items) {
            if (!current.isEmpty() && size + i.bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(i);
            size += i.bytes;
        }
        shards.add(current);
        long total = items.stream().mapToLong(Item::bytes).sum();

        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            written.add(writeShard(dir.resolve(Safetensors.SINGLE_FILE), shards.get(0)));
            return new Written(written, total);
        }
        Map<String, String> weightMap = new TreeMap<>();
        for (int s = 0; s < shards.size(); s++) {
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            written.add(writeShard(dir.resolve(name), shards.get(s)));
            for (Item i : shards.get(s)) {
                weightMap.put(i.name(), name);
            }
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        Path indexFile = dir.resolve(Safetensors.INDEX_FILE);
        try {
            writeAtomically(indexFile, List.of(ByteBuffer.wrap(JSON.writeValueAsBytes(index))));
        } catch (IOException e) {
            throw new ModelLoadException("cannot write " + indexFile + ": " + e, e);
        }
        written.add(indexFile);
        return new Written(written, total);
    }

    private static Path writeShard(Path file, List<Item> items) {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Item i : items) {
            ObjectNode entry = header.putObject(i.name());
            entry.put("dtype", i.dtype);
            ArrayNode shape = entry.putArray("shape");
            for (long d : i.entry.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + i.bytes);
            offset += i.bytes;
        }
        byte[] json;
        try {
            json = new ObjectMapper().writeValueAsBytes(header);
        } catch (IOException e) {
            throw new ModelLoadException("cannot encode the safetensors header of " + file + ": " + e, e);
        }
        long headerBytes = (8 + json.length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT - 8;   // spaces pad JSON, as the reference writer does
        ByteBuffer head = ByteBuffer.allocate((int) (8 + headerBytes)).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(headerBytes).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        List<ByteBuffer> pieces = new ArrayList<>();
        pieces.add(head);
        try {
            writeAtomically(file, pieces, items);
        } catch (IOException e) {
            throw new ModelLoadException("cannot write " + file + ": " + e, e);
        }
        return file;
    }

    private static void writeAtomically(Path file, List<ByteBuffer> head) throws IOException {
        writeAtomically(file, head, List.of());
    }

    /** The header buffers, then each tensor's bytes, into a temporary file renamed over {@code file} at the end. */
    private static void writeAtomically(Path file, List<ByteBuffer> head, List<Item> items) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".part");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                for (ByteBuffer b : head) {
                    writeFully(ch, b);
                }
                for (Item i : items) {
                    writeTensor(ch, i);
                }
                ch.force(true);
            }
            AtomicFiles.moveIntoPlace(tmp, file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The tensor's bytes in pieces of a flat view: straight from its memory when it is on the CPU in the stored
     * dtype (no copy unless strided), else each piece converted on its own and freed once written.
     */
    private static void writeTensor(FileChannel ch, Item i) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = i.entry.data().get();
            if (!java.util.Arrays.equals(org.emovit.model.Tensors.shape(t), i.entry.shape())) {
                throw new IllegalStateException(i.name() + " was announced as " + java.util.Arrays.toString(i.entry.shape())
                        + " but is " + java.util.Arrays.toString(org.emovit.model.Tensors.shape(t)));
            }
            Tensor flat = t.contiguous().reshape(-1);
            long n = flat.numel();
            long elem = elementBytes(i.name(), i.type);
            long perPiece = PIECE / Math.max(elem, flat.element_size());
            for (long at = 0; at < n; at += perPiece) {
                try (PointerScope pieceScope = new PointerScope()) {
                    long len = Math.min(perPiece, n - at);
                    Tensor piece = flat.narrow(0, at, len).to(new Device("cpu"), i.type);
                    ByteBuffer b = new BytePointer(piece.data_ptr()).capacity(len * elem).asByteBuffer();
                    writeFully(ch, b);
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static long elementBytes(String key, ScalarType t) {
        return switch (t.intern()) {
            case Float -> 4;
            case BFloat16, Half -> 2;
            case Long -> 8;
            case Char, Byte -> 1;
            default -> throw new ModelLoadException("tensor '" + key + "' has dtype " + t + ", which the converter does not write");
        };
    }

    private static String dtypeName(String key, ScalarType t) {
        return switch (t.intern()) {
            case Float -> "F32";
            case BFloat16 -> "BF16";
            case Half -> "F16";
            case Long -> "I64";
            case Char -> "I8";
            case Byte -> "U8";
            default -> throw new ModelLoadException("tensor '" + key + "' has dtype " + t + ", which the converter does not write");
        };
    }
}
