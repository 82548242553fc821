package org.emovit.model;

import org.emovit.model.quant.Int8Weight;
import org.emovit.model.quant.PackedInt8;
import org.emovit.model.quant.Int8Workspace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.quant.Int4Format;
import org.emovit.model.quant.Int4Weight;
import org.emovit.model.quant.Int8Format;

/**
 * The model's tensors under their Hugging Face names, whatever layout they came from. Tensors are produced
 * lazily (a memory-mapped file is only read when the model takes the tensor) and converted to the compute
 * dtype and device on the way out. The model takes every tensor it needs by name and shape; whatever is
 * missing, mis-shaped, or left over is an error that names the key, the file and both shapes.
 */
public final class StateDict {

    /**
     * One tensor: its shape, the file (and original key) it comes from, how to read it, and (or null) how to copy its
     * bytes into a buffer without touching its mapping (a file read: the copy that {@link PackedInt8} packs, so
     * that the mapped int8 values do not become resident).
     */
    public record Entry(long[] shape, String origin, Supplier<Tensor> reader, java.util.function.Consumer<java.nio.ByteBuffer> copier) {
        public Entry(long[] shape, String origin, Supplier<Tensor> reader) {
            this(shape, origin, reader, null);
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Set<String> taken = new LinkedHashSet<>();
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Set<String> aliased = new LinkedHashSet<>();
    private java.util.function.Predicate<String> ownCopy = key -> false;
    private java.util.function.Predicate<String> float32 = key -> false;
    private java.util.function.Predicate<String> quantize = key -> false;
    private java.util.function.Predicate<String> quantizeInt4 = key -> false;
    /** Whether int8 Linears that {@link PackedInt8#packs} may be packed, and whether quantised ones keep their values. */
    private boolean pack;
    private boolean keepPackedValues = true;
    private final Set<String> packed = new LinkedHashSet<>();
    private final ScalarType dtype;
    private final Device device;
    private final java.util.function.BiFunction<String, long[], Tensor> synthesizer;
    private final Int8Workspace int8Workspace = new Int8Workspace();
    /** Bytes of dense weights freed since the C heap was last trimmed, and how many to let build up. */
    private long untrimmedBytes;
    private static final long TRIM_BYTES = 256L << 20;

    /** @param dtype the compute dtype every tensor is converted to, or null to take each as its file stores it */
    public StateDict(ScalarType dtype, Device device) {
        this(dtype, device, null);
    }

    private StateDict(ScalarType dtype, Device device, java.util.function.BiFunction<String, long[], Tensor> synthesizer) {
        this.dtype = dtype;
        this.device = device;
        this.synthesizer = synthesizer;
    }

    /**
     * A state dict that makes up every tensor the model asks for at the asked shape, for benchmarks at real
     * sizes without a checkpoint: norm weights 1, biases 0, everything else N(0, 0.02) values from a fixed
     * seed. Drawing 7B normal numbers takes minutes on two cores, so large tensors repeat one pool of 16M
     * draws: the values only need to be realistic in scale, not independent.
     */
    public static StateDict random(ScalarType dtype, Device device, long seed) {
        torch.manual_seed(seed);
        TensorOptions o = Tensors.options(dtype, device);
        long poolSize = 1L << 24;
        Tensor pool = torch.randn(new long[] {poolSize}, o).mul_(new Scalar(0.02));
        return new StateDict(dtype, device, (key, shape) -> {
            boolean norm = key.contains("norm") || key.contains("LayerNorm");
            if (shape.length == 1 && key.endsWith(".weight") && norm) {
                return torch.ones(shape, o);
            }
            if (shape.length == 1 && key.endsWith(".bias")) {
                return torch.zeros(shape, o);
            }
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            Tensor out;
            // The views hold the storage: freed here, so a tensor the caller closes (a weight quantised as it is
            // taken) really goes, instead of living on in views until the caller's scope ends.
            try (org.bytedeco.javacpp.PointerScope views = new org.bytedeco.javacpp.PointerScope()) {
                out = Owned.own(torch.empty(shape, o, new org.bytedeco.pytorch.MemoryFormatOptional()));
                Tensor flat = out.view(-1);
                for (long at = 0; at < n; at += poolSize) {
                    long len = Math.min(poolSize, n - at);
                    flat.narrow(0, at, len).copy_(pool.narrow(0, 0, len));
                }
            }
            return Owned.handBack(out);
        });
    }

    public ScalarType dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    public void put(String key, Entry entry) {
        entries.put(key, entry);
    }

    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    public Set<String> keys() {
        return entries.keySet();
    }

    public Entry entry(String key) {
        return entries.get(key);
    }

    /** Takes a tensor, checking its shape, converted to the compute dtype and device. */
    public Tensor take(String key, long... expectedShape) {
        Entry e = entries.get(key);
        if (e == null && synthesizer != null) {
            Tensor t = synthesizer.apply(key, expectedShape);
            parameters.put(key, t);
            return t;
        }
        if (e == null) {
            throw new ModelLoadException("missing tensor '" + key + "' (the model expects shape "
                    + Arrays.toString(expectedShape) + "); checked " + origins());
        }
        if (!Arrays.equals(e.shape(), expectedShape)) {
            throw new ModelLoadException("tensor '" + key + "' from " + e.origin() + " has shape "
                    + Arrays.toString(e.shape()) + " but the model expects " + Arrays.toString(expectedShape));
        }
        Tensor read = e.reader().get();
        if (read.scalar_type().intern() == ScalarType.Char) {
            throw Int8Format.missingScale(key, e.origin());   // int8 values are never a dense weight by themselves
        }
        taken.add(key);
        Tensor t = read.to(device, float32.test(key) ? ScalarType.Float : dtype == null ? read.scalar_type() : dtype);
        if (ownCopy.test(key)) {
            t = t.clone();   // may alias a read-only mapping; a tensor that training updates needs its own memory
        } else if (t.data_ptr().address() == read.data_ptr().address()) {
            aliased.add(key);   // no conversion was needed: the parameter is the file's bytes in place
        }
        parameters.put(key, t);
        return t;
    }

    /**
     * Takes a Linear's weight [out, in]: int8 with its scales when the checkpoint stores it so ({@code key} I8 and a
     * {@code key + "_scale"} F32 [out] sibling, taken as they are: mapped in place), else dense as {@link #take};
     * a dense weight is quantised here when {@link #quantizeLinears} asked for it (random or unconverted models).
     */
    public LinearWeight takeLinear(String key, long out, long in) {
        String paramsKey = Int4Format.PARAMS.of(key);
        if (entries.containsKey(paramsKey)) {
            Entry weight = entries.get(key);
            if (weight != null && Arrays.equals(weight.shape(), new long[] {out, in})) {   // a dense weight's shape
                throw new ModelLoadException(Int4Format.strayParams(paramsKey, entries.get(paramsKey).origin(), true));
            }
            Tensor values = takeAs(key, ScalarType.Byte, Int4Format.valuesShape(out, in));
            Tensor params = takeAs(paramsKey, Int4Format.PARAMS_TYPE, Int4Format.paramsShape(out, in));
            Int4Weight w = Int4Weight.load(values, params, packSource(entries.get(key), values), key, entries.get(paramsKey).origin());
            trimEvery(4 * values.numel());   // the int32 levels packing unpacked, a block at a time
            return LinearWeight.of(w);
        }
        if (quantizeInt4.test(key) && Int4Format.accepts(out, in)) {
            Tensor dense = take(key, out, in);
            Int4Weight w = Int4Weight.of(dense, keepPackedValues);
            parameters.remove(key);
            if (w.hasValues()) {
                parameters.put(key, w.values());
                parameters.put(paramsKey, w.params());
            }
            freed(dense);
            return LinearWeight.of(w);
        }
        String scaleKey = Int8Format.scaleKeyOf(key);
        if (entries.containsKey(scaleKey)) {
            Tensor values = takeAs(key, ScalarType.Char, out, in);
            Tensor scales = takeAs(scaleKey, ScalarType.Float, out);
            Int8Format.requireValidScales(scales, scaleKey, entries.get(scaleKey).origin());
            if (!packs(key, in)) {
                return LinearWeight.of(new Int8Weight(values, scales, int8Workspace));
            }
            packed.add(key);
            Int8Weight packedWeight = Int8Weight.packed(values, scales, int8Workspace, packSource(entries.get(key), values));
            trimEvery(values.nbytes());   // packing's temporaries, as quantising's below
            return LinearWeight.of(packedWeight);
        }
        if (quantize.test(key) && packs(key, in) && !keepPackedValues) {
            // Quantised into the scratch buffer, packed, and not kept: the model holds the packing alone (bench).
            Tensor values = int8Workspace.bytes(out * in).view(out, in), scales = Int8Weight.emptyScales(out, device);
            Tensor dense = take(key, out, in);
            Int8Weight q = Int8Weight.quantizeInto(dense, values, scales, int8Workspace).packedAlone();
            Int8Format.requireValidScales(q.scales(), scaleKey, Int8Format.quantisedFrom(originOf(key)));
            packed.add(key);
            parameters.remove(key);
            parameters.put(scaleKey, q.scales());
            freed(dense);
            trimEvery(values.nbytes());
            return LinearWeight.of(q);
        }
        if (quantize.test(key)) {
            Tensor values = Int8Weight.emptyValues(out, in, device), scales = Int8Weight.emptyScales(out, device);
            Tensor dense = take(key, out, in);   // after its int8 destination (see Int8Weight.quantizeInto)
            Int8Weight q = Int8Weight.quantizeInto(dense, values, scales, int8Workspace);
            Int8Format.requireValidScales(q.scales(), scaleKey, Int8Format.quantisedFrom(originOf(key)));
            parameters.remove(key);
            parameters.put(key, q.values());
            parameters.put(scaleKey, q.scales());
            freed(dense);
            if (!packs(key, in)) {
                return LinearWeight.of(q);
            }
            packed.add(key);
            return LinearWeight.of(q.packed(q.values()));
        }
        return LinearWeight.of(take(key, out, in));
    }

    /** Frees a dense weight that was quantised, handing the heap's free pages back every {@link #TRIM_BYTES}. */
    private void freed(Tensor dense) {
        long bytes = dense.nbytes();
        dense.close();
        trimEvery(bytes);
    }

    /**
     * Counts bytes of temporaries freed and trims the C heap every {@link #TRIM_BYTES} of them: the loader's glibc
     * settings keep freed memory, so a load's temporaries (dense weights quantised, the int32 sums of a packing)
     * would otherwise stay resident; a trim per weight cost 13 s of a 7B build.
     */
    private void trimEvery(long bytes) {
        untrimmedBytes += bytes;
        if (untrimmedBytes >= TRIM_BYTES) {
            NativeMemory.trim();
            untrimmedBytes = 0;
        }
    }

    /**
     * Int8 Linears whose keys {@link PackedInt8#packs} are packed for FBGEMM where that is exact on this CPU (see
     * {@link PackedInt8#available}); quantised ones keep their values only if {@code keepValues} (gradients need
     * them: Grad-CAM, training). Checkpoints stored int8 keep theirs mapped either way.
     */
    public void packInt8(boolean keepValues) {
        this.pack = device.is_cpu();
        this.keepPackedValues = keepValues;
    }

    /**
     * Whether this int8 Linear is packed. FBGEMM's exactness is asked last, so only a model with int8 weights runs it
     * (its deprecated operators print libtorch's removal warnings: an f32 or bf16 load stays quiet).
     */
    private boolean packs(String key, long in) {
        return pack && PackedInt8.packs(key) && PackedInt8.fits(in) && PackedInt8.available();
    }

    /** Keys of the int8 Linears packed so far. */
    public Set<String> packedKeys() {
        return java.util.Collections.unmodifiableSet(packed);
    }

    /**
     * What to pack a mapped int8 weight from: its bytes read from the file into the model's scratch buffer, so the
     * mapping itself stays untouched (6.5 GB of resident pages at 7B otherwise); the values themselves where the
     * entry cannot be read that way.
     */
    private Tensor packSource(Entry entry, Tensor values) {
        if (entry.copier() == null) {
            return values;
        }
        long n = values.numel();
        Tensor scratch = int8Workspace.bytes(n);
        java.nio.ByteBuffer target = new org.bytedeco.javacpp.BytePointer(scratch.data_ptr()).capacity(n).asByteBuffer();
        entry.copier().accept(target);
        return scratch.view(values.size(0), values.size(1));
    }

    /** The buffer the model's int8 Linears share for their GEMM path; the model closes it. */
    public Int8Workspace int8Workspace() {
        return int8Workspace;
    }

    /** Dense Linear weights whose keys match are quantised to int8 as they are taken. */
    public void quantizeLinears(java.util.function.Predicate<String> keys) {
        this.quantize = keys;
    }

    /**
     * Dense Linear weights whose keys match (and whose widths {@link Int4Format#accepts}) are quantised to 4 bits as
     * they are taken; they keep their stored levels unless {@link #packInt8} said otherwise.
     */
    public void quantizeLinearsToInt4(java.util.function.Predicate<String> keys) {
        this.quantizeInt4 = keys;
    }

    private Tensor takeAs(String key, ScalarType stored, long... shape) {
        Tensor t = takeRaw(key, shape);
        ScalarType type = t.scalar_type().intern();
        if (type != stored) {
            throw new ModelLoadException("tensor '" + key + "' from " + entries.get(key).origin() + " is " + type
                    + " but a quantised Linear stores it as " + stored);
        }
        return t;
    }

    /** As {@link #take}, but in the dtype the file stores. */
    private Tensor takeRaw(String key, long... expectedShape) {
        Entry e = entries.get(key);
        if (e == null) {
            return take(key, expectedShape);   // the error message
        }
        if (!Arrays.equals(e.shape(), expectedShape)) {
            return take(key, expectedShape);
        }
        taken.add(key);
        Tensor read = e.reader().get();
        Tensor t = read.to(device, read.scalar_type());
        if (t.data_ptr().address() == read.data_ptr().address()) {
            aliased.add(key);
        }
        parameters.put(key, t);
        return t;
    }

    /** Keys of the tensors taken as the reader's memory itself (a mapped file's bytes), neither converted nor copied. */
    public Set<String> aliased() {
        return java.util.Collections.unmodifiableSet(aliased);
    }

    /** Tensors whose keys match get their own memory instead of aliasing the checkpoint (the ones training updates). */
    public void ownCopies(java.util.function.Predicate<String> keys) {
        this.ownCopy = keys;
    }

    /**
     * Tensors whose keys match stay float32 whatever the compute dtype: training keeps its small tuned tensors
     * in float32 (master weights) while the frozen ViT and LLM compute in bfloat16; the model casts at the seams.
     */
    public void keepFloat32(java.util.function.Predicate<String> keys) {
        this.float32 = keys;
    }

    /** Every tensor taken so far, by name, in the order the model took them. */
    public Map<String, Tensor> parameters() {
        return java.util.Collections.unmodifiableMap(parameters);
    }

    /**
     * Replaces tensors with those of an overlay (EmoVIT's tuned `model_weights1.pth`): every overlay tensor
     * must name a tensor that exists, with the same shape.
     */
    public void overlay(StateDict other) {
        for (Map.Entry<String, Entry> o : other.entries.entrySet()) {
            Entry base = entries.get(o.getKey());
            if (base == null) {
                throw new ModelLoadException("overlay tensor '" + o.getKey() + "' from " + o.getValue().origin()
                        + " does not exist in the base model");
            }
            if (!Arrays.equals(base.shape(), o.getValue().shape())) {
                throw new ModelLoadException("overlay tensor '" + o.getKey() + "' from " + o.getValue().origin()
                        + " has shape " + Arrays.toString(o.getValue().shape()) + " but the base model's ("
                        + base.origin() + ") is " + Arrays.toString(base.shape()));
            }
            entries.put(o.getKey(), o.getValue());
        }
    }

    /** Where a tensor comes from, for messages: its file, or the random model. */
    private String originOf(String key) {
        Entry e = entries.get(key);
        return e != null ? e.origin() : "the random model";
    }

    /**
     * After the model has taken its tensors: anything left is a checkpoint that does not fit the config; int8 scales
     * left over are named as such (their weight is missing or not an int8 Linear's).
     */
    public void requireAllTaken() {
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            if (!taken.contains(e.getKey()) && Int8Format.isScaleKey(e.getKey())) {
                throw new ModelLoadException(Int8Format.strayScale(e.getKey(), e.getValue().origin(),
                        entries.containsKey(Int8Format.weightKeyOf(e.getKey()))));
            }
            if (!taken.contains(e.getKey()) && Int4Format.PARAMS.matches(e.getKey())) {
                throw new ModelLoadException(Int4Format.strayParams(e.getKey(), e.getValue().origin(),
                        entries.containsKey(Int4Format.PARAMS.weightOf(e.getKey()))));
            }
        }
        List<String> left = new ArrayList<>();
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            if (!taken.contains(e.getKey())) {
                left.add("'" + e.getKey() + "' " + Arrays.toString(e.getValue().shape()) + " from " + e.getValue().origin());
            }
        }
        if (!left.isEmpty()) {
            throw new ModelLoadException(left.size() + " unexpected tensor(s) that the configured model does not use: "
                    + String.join(", ", left.subList(0, Math.min(8, left.size())))
                    + (left.size() > 8 ? ", ..." : ""));
        }
    }

    private String origins() {
        Set<String> files = new LinkedHashSet<>();
        for (Entry e : entries.values()) {
            String o = e.origin();
            int cut = o.indexOf(" [");
            files.add(cut < 0 ? o : o.substring(0, cut));
        }
        return files.isEmpty() ? "no checkpoint" : String.join(", ", files);
    }
}
