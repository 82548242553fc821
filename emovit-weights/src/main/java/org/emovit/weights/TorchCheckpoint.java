package org.emovit.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.emovit.weights.TorchUnpickler.DTypeMarker;
import org.emovit.weights.TorchUnpickler.PyObject;
import org.emovit.weights.TorchUnpickler.StorageRef;
import org.emovit.weights.TorchUnpickler.StorageType;
import org.emovit.weights.TorchUnpickler.TensorRef;

/**
 * Reads PyTorch zip checkpoints ({@code torch.save} with the default {@code _use_new_zipfile_serialization}):
 * a zip holding {@code <archive>/data.pkl} (the pickled object), {@code <archive>/data/<key>} (one raw
 * little-endian storage per key), {@code <archive>/byteorder} and {@code <archive>/version}.
 *
 * <p>Storages are stored uncompressed in PyTorch zips, so they are memory-mapped in place and tensors are
 * slices of the mapping (no copy); a compressed entry (a zip re-packed by another tool) is inflated into
 * memory when one of its tensors is read. Views with a storage offset are slices too; non-contiguous views
 * (transposed, expanded) are copied into packed buffers.
 */
public final class TorchCheckpoint {
    /** The pickled magic number that starts the legacy (pre-1.6, non-zip) torch.save format. */
    private static final byte[] LEGACY_MAGIC = {
        (byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a,
        (byte) 0xa8, 0x50, 0x19
    };
    /** Top-level keys under which training checkpoints keep their state dict, tried in this order. */
    private static final List<String> WRAPPER_KEYS = List.of("model", "state_dict", "module");

    private TorchCheckpoint() {
    }

    /**
     * Opens a PyTorch zip checkpoint. The pickle's top level may be a state dict, or a dict holding one under
     * {@code "model"} (LAVIS/EmoVIT: {@code {"model": {...}, "optimizer": ..., "config": ..., "epoch": 3}}),
     * {@code "state_dict"} or {@code "module"}. Returns the flat tensor map of that state dict, in its order;
     * entries that are not tensors are left out.
     */
    public static TensorSource open(Path pth) {
        FileChannel ch = WeightFiles.openChannel(pth);
        try {
            TorchSource s = read(pth, ch);
            ch = null;
            return s;
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

    private static TorchSource read(Path file, FileChannel ch) {
        checkMagic(file, ch);
        CheckpointZip zip = CheckpointZip.open(file, ch);
        try {
            return read(file, ch, zip);
        } catch (RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    private static TorchSource read(Path file, FileChannel ch, CheckpointZip zip) {
        String prefix = null;
        for (String name : zip.entries().keySet()) {
            if (name.endsWith("data.pkl")) {
                String p = name.substring(0, name.length() - "data.pkl".length());
                if (p.isEmpty() || (p.endsWith("/") && p.indexOf('/') == p.length() - 1)) {
                    prefix = p;
                    break;
                }
            }
        }
        if (prefix == null) {
            throw new WeightsException(file + " is a zip archive but not a PyTorch checkpoint: it has no "
                    + "<archive>/data.pkl entry");
        }
        ZipArchiveEntry bo = zip.get(prefix + "byteorder");
        if (bo != null) {
            String order = new String(zip.readBytes(bo), StandardCharsets.US_ASCII).trim();
            if (!order.equals("little")) {
                throw new WeightsException(file + " was saved with byte order '" + order + "'; only little-endian "
                        + "checkpoints are supported (re-save it on a little-endian machine)");
            }
        }
        byte[] pickle = zip.readBytes(zip.get(prefix + "data.pkl"));
        Object top;
        try {
            TorchUnpickler u = new TorchUnpickler();
            top = u.loads(pickle);
            u.close();
        } catch (IOException | RuntimeException e) {
            throw new WeightsException("cannot unpickle " + prefix + "data.pkl in " + file + ": " + e, e);
        }
        Map<?, ?> stateDict = selectStateDict(file, top);
        Map<String, Resolved> tensors = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : stateDict.entrySet()) {
            String key = String.valueOf(e.getKey());
            Object v = e.getValue();
            if (v instanceof TensorRef t) {
                tensors.put(key, resolve(file, zip, prefix, key, t));
            } else if (v instanceof PyObject p && p.module.startsWith("torch") && p.name.contains("rebuild")) {
                throw new WeightsException("tensor '" + key + "' in " + file + " is stored with " + p
                        + " (a quantized, sparse, meta or subclass tensor), which is not supported");
            }
        }
        if (tensors.isEmpty()) {
            throw new WeightsException(file + " holds no tensors" + (top instanceof Map<?, ?> m
                    ? " (top-level keys: " + m.keySet() + ")" : " (top level is " + describeType(top) + ")"));
        }
        return new TorchSource(file, ch, zip, tensors);
    }

    private static void checkMagic(Path file, FileChannel ch) {
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            throw new WeightsException("cannot read " + file + ": " + e, e);
        }
        if (size == 0) {
            throw new WeightsException(file + " is empty");
        }
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, 512));
        WeightFiles.readFully(ch, head, 0, file, "the first bytes");
        byte[] b = new byte[head.remaining()];
        head.get(b);
        if (b.length >= 4 && b[0] == 'P' && b[1] == 'K' && (b[2] == 3 || b[2] == 5) && (b[3] == 4 || b[3] == 6)) {
            return;
        }
        String resave = "; re-save it with torch.save(obj, path, _use_new_zipfile_serialization=True) "
                + "(the default since PyTorch 1.6)";
        if (b.length >= LEGACY_MAGIC.length && Arrays.equals(Arrays.copyOf(b, LEGACY_MAGIC.length), LEGACY_MAGIC)) {
            throw new WeightsException(file + " is in the legacy non-zip torch.save format (magic number "
                    + "0x1950a86a20f9469cfc6c), which is not supported" + resave);
        }
        if (b.length >= 2 && (b[0] & 0xff) == 0x80 && b[1] >= 2 && b[1] <= 5) {
            throw new WeightsException(file + " is a bare pickle (the legacy non-zip torch.save format), which is "
                    + "not supported" + resave);
        }
        if (b.length >= 262 && new String(b, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
            throw new WeightsException(file + " is a tar archive (the legacy non-zip torch.save format of PyTorch "
                    + "< 0.4), which is not supported" + resave);
        }
        if (b.length >= 9) {
            long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n > 0 && n < size && b[8] == '{') {
                throw new WeightsException(file + " is a safetensors file, not a PyTorch checkpoint; open it with "
                        + "Safetensors.open");
            }
        }
        if (b.length >= 2 && b[0] == 'P' && b[1] == 'K') {
            throw new WeightsException(file + " is a truncated or corrupt zip archive (bad signature)");
        }
        throw new WeightsException(file + " is not a PyTorch zip checkpoint (it does not start with a zip header)");
    }

    private static Map<?, ?> selectStateDict(Path file, Object top) {
        if (!(top instanceof Map<?, ?> m)) {
            throw new WeightsException(file + " holds " + describeType(top) + ", not a state dict (save "
                    + "model.state_dict() rather than the model object)");
        }
        for (String k : WRAPPER_KEYS) {
            if (m.get(k) instanceof Map<?, ?> inner) {
                return inner;
            }
        }
        return m;
    }

    private static String describeType(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof PyObject p) {
            return "a " + p;
        }
        if (o instanceof TensorRef) {
            return "a single tensor";
        }
        return "a " + o.getClass().getSimpleName();
    }

    /** A state-dict tensor: a view of a zip storage entry. */
    record Resolved(String key, DType dtype, long[] shape, long[] stride, long offset, ZipArchiveEntry storage,
            boolean contiguous) {
    }

    private static Resolved resolve(Path file, CheckpointZip zip, String prefix, String key, TensorRef t) {
        String where = "tensor '" + key + "' in " + file;
        if (!(t.storage() instanceof StorageRef s)) {
            throw new WeightsException(where + ": its storage is " + t.storage() + ", not a storage reference");
        }
        DType dtype;
        if (t.dtype() != null) { // _rebuild_tensor_v3: the dtype is an argument, the storage untyped
            if (!(t.dtype() instanceof DTypeMarker d)) {
                throw new WeightsException(where + ": unknown dtype " + t.dtype());
            }
            if (d.dtype() == null) {
                throw new WeightsException(where + " has dtype " + d.name() + ", which is not supported");
            }
            dtype = d.dtype();
        } else if (s.type() instanceof StorageType st) {
            if (st.dtype() == null) {
                throw new WeightsException(where + " uses storage type " + st.name() + ", which is not supported");
            }
            dtype = st.dtype();
        } else {
            throw new WeightsException(where + ": unknown storage type " + s.type());
        }
        long offset = toLong(where, "storage offset", t.offset());
        long[] shape = toLongs(where, "size", t.size());
        long[] stride = toLongs(where, "stride", t.stride());
        if (shape.length != stride.length) {
            throw new WeightsException(where + ": size " + Arrays.toString(shape) + " and stride "
                    + Arrays.toString(stride) + " differ in rank");
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0 || stride[i] < 0) {
                throw new WeightsException(where + ": negative size or stride (size " + Arrays.toString(shape)
                        + ", stride " + Arrays.toString(stride) + ")");
            }
        }
        if (offset < 0) {
            throw new WeightsException(where + ": negative storage offset " + offset);
        }
        ZipArchiveEntry entry = zip.get(prefix + "data/" + s.key());
        if (entry == null) {
            throw new WeightsException(where + ": storage " + s.key() + " (" + prefix + "data/" + s.key()
                    + ") is missing from the archive");
        }
        long needBytes;
        try {
            needBytes = Math.multiplyExact(Strided.extent(offset, shape, stride), (long) dtype.byteSize());
            RawTensor.byteCount(dtype, shape);
        } catch (ArithmeticException e) {
            throw new WeightsException(where + ": size " + Arrays.toString(shape) + " is too large");
        }
        if (needBytes > entry.getSize()) {
            throw new WeightsException(where + ": the view (offset " + offset + ", size " + Arrays.toString(shape)
                    + ", stride " + Arrays.toString(stride) + ") needs " + needBytes + " bytes of storage "
                    + s.key() + ", which has " + entry.getSize() + " (truncated or corrupt checkpoint)");
        }
        return new Resolved(key, dtype, shape, stride, offset, entry, Strided.isContiguous(shape, stride));
    }

    private static long toLong(String where, String what, Object o) {
        if (o instanceof Number n && !(o instanceof Double) && !(o instanceof Float)) {
            if (o instanceof java.math.BigInteger bi && bi.bitLength() > 63) {
                throw new WeightsException(where + ": " + what + " " + o + " is out of range");
            }
            return n.longValue();
        }
        throw new WeightsException(where + ": " + what + " is " + o + ", not an integer");
    }

    private static long[] toLongs(String where, String what, Object o) {
        Object[] a;
        if (o instanceof Object[] arr) {
            a = arr;
        } else if (o instanceof List<?> l) {
            a = l.toArray();
        } else if (o instanceof PyObject p && p.args != null && p.args.length == 1 && p.args[0] instanceof Object[] arr) {
            a = arr; // torch.Size((...))
        } else {
            throw new WeightsException(where + ": " + what + " is " + o + ", not a tuple");
        }
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = toLong(where, what, a[i]);
        }
        return out;
    }

    /** The tensors of one checkpoint. */
    static final class TorchSource implements TensorSource {
        private final Path file;
        private final CheckpointZip zip;
        private final Map<String, Resolved> tensors;
        private final Set<String> keys;
        private final MappedRegions regions;
        private final Map<String, ByteBuffer> inflated = new HashMap<>();
        private boolean closed;

        TorchSource(Path file, FileChannel ch, CheckpointZip zip, Map<String, Resolved> tensors) {
            this.file = file;
            this.zip = zip;
            this.tensors = tensors;
            this.keys = Collections.unmodifiableSet(tensors.keySet());
            List<long[]> rs = new ArrayList<>();
            Set<String> seen = new java.util.HashSet<>();
            for (Resolved r : tensors.values()) {
                ZipArchiveEntry e = r.storage();
                if (CheckpointZip.stored(e) && seen.add(e.getName())) {
                    rs.add(new long[] {e.getDataOffset(), e.getSize()});
                }
            }
            this.regions = new MappedRegions(file, ch, rs);
        }

        @Override
        public Set<String> keys() {
            return keys;
        }

        @Override
        public boolean contains(String key) {
            return tensors.containsKey(key);
        }

        @Override
        public RawTensor get(String key) {
            Resolved r = tensors.get(key);
            if (r == null) {
                throw new WeightsException("no tensor '" + key + "' in " + describe() + " ("
                        + WeightFiles.sampleKeys(keys, key) + ")");
            }
            String what = "tensor '" + key + "'";
            int es = r.dtype().byteSize();
            long numel = RawTensor.numel(r.shape());
            if (numel == 0) {
                return new RawTensor(r.dtype(), r.shape(), ByteBuffer.allocate(0));
            }
            ZipArchiveEntry e = r.storage();
            try {
                if (r.contiguous()) {
                    long start = r.offset() * es;
                    long len = numel * es;
                    return new RawTensor(r.dtype(), r.shape(), storageSlice(e, start, len, what));
                }
                // Non-contiguous: copy the elements the view touches into a packed buffer.
                long start = r.offset() * es;
                long len = Strided.extent(r.offset(), r.shape(), r.stride()) * es - start;
                ByteBuffer used = storageSlice(e, start, len, what);
                return new RawTensor(r.dtype(), r.shape(), Strided.materialize(used, es, 0, r.shape(), r.stride()));
            } catch (WeightsException ex) {
                if (ex.getMessage() != null && ex.getMessage().contains(file.toString())) {
                    throw ex;
                }
                throw new WeightsException(what + " in " + file + ": " + ex.getMessage(), ex);
            }
        }

        private ByteBuffer storageSlice(ZipArchiveEntry e, long start, long len, String what) {
            if (CheckpointZip.stored(e)) {
                return regions.slice(e.getDataOffset() + start, len, what);
            }
            ByteBuffer all;
            synchronized (this) {
                if (closed) {
                    throw new WeightsException(file + " is closed (reading " + what + ")");
                }
                all = inflated.get(e.getName());
                if (all == null) {
                    all = ByteBuffer.wrap(zip.readBytes(e)).order(ByteOrder.LITTLE_ENDIAN);
                    inflated.put(e.getName(), all);
                }
            }
            return all.slice((int) start, (int) len).order(ByteOrder.LITTLE_ENDIAN);
        }

        /** Dtype, shape, strides and storage of a tensor without reading it. */
        Resolved resolved(String key) {
            return tensors.get(key);
        }

        MappedRegions regions() {
            return regions;
        }

        @Override
        public String describe() {
            return file.toString();
        }

        @Override
        public void close() {
            synchronized (this) {
                closed = true;
                inflated.clear();
            }
            regions.close();
            zip.close();
        }
    }
}
