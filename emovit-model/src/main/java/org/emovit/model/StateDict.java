package org.emovit.model;

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
import org.emovit.model.quant.QuantizedLinears;
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
     * bytes into a buffer without touching its mapping (a file read: the copy that an int8 or 4-bit packing reads, so
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
    private final ScalarType dtype;
    private final Device device;
    private final java.util.function.BiFunction<String, long[], Tensor> synthesizer;
    private final QuantizedLinears linears;

    /** @param dtype the compute dtype every tensor is converted to, or null to take each as its file stores it */
    public StateDict(ScalarType dtype, Device device) {
        this(dtype, device, null);
    }

    private StateDict(ScalarType dtype, Device device, java.util.function.BiFunction<String, long[], Tensor> synthesizer) {
        this.dtype = dtype;
        this.device = device;
        this.synthesizer = synthesizer;
        this.linears = new QuantizedLinears(new Stored(), device);
    }

    /** The tensors as {@link QuantizedLinears} takes a quantised Linear's. */
    private final class Stored implements QuantizedLinears.Source {
        @Override
        public boolean has(String key) {
            return entries.containsKey(key);
        }

        @Override
        public long[] storedShape(String key) {
            Entry e = entries.get(key);
            return e != null ? e.shape() : null;
        }

        @Override
        public String originOf(String key) {
            return StateDict.this.originOf(key);
        }

        @Override
        public Tensor take(String key, long... shape) {
            return StateDict.this.take(key, shape);
        }

        @Override
        public Tensor takeStored(String key, ScalarType stored, long... shape) {
            return takeAs(key, stored, shape);
        }

        @Override
        public java.util.function.Consumer<java.nio.ByteBuffer> copier(String key) {
            return entries.get(key).copier();
        }

        @Override
        public void replace(String key, Map<String, Tensor> stored) {
            parameters.remove(key);
            parameters.putAll(stored);
        }
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
        return synthesized(dtype, device, (key, shape) -> {
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

    /**
     * As {@link #random}, but every tensor its own N(0, 0.02) draws (seeded by {@code seed} and its key), as a real
     * checkpoint's weights are, where {@link #random}'s repeated pool makes q, k, v and o one matrix and every layer the
     * same: for accuracy tests that should not rest on that (Int4SevenBWidthTest's probe). Slower to make.
     */
    public static StateDict independentRandom(ScalarType dtype, Device device, long seed) {
        TensorOptions o = Tensors.options(dtype, device);
        return synthesized(dtype, device, (key, shape) -> {
            torch.manual_seed(seed * 1_000_003L + key.hashCode());
            return Owned.handBack(Owned.step(() -> torch.randn(shape, o).mul_(new Scalar(0.02))));
        });
    }

    /** A made-up state dict: norm weights 1, biases 0, every other tensor what {@code draw} makes at its shape. */
    private static StateDict synthesized(ScalarType dtype, Device device, java.util.function.BiFunction<String, long[], Tensor> draw) {
        TensorOptions o = Tensors.options(dtype, device);
        return new StateDict(dtype, device, (key, shape) -> {
            boolean norm = key.contains("norm") || key.contains("LayerNorm");
            if (shape.length == 1 && key.endsWith(".weight") && norm) {
                return torch.ones(shape, o);
            }
            if (shape.length == 1 && key.endsWith(".bias")) {
                return torch.zeros(shape, o);
            }
            return draw.apply(key, shape);
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
     * Takes a Linear's weight [out, in]: in the stored format its checkpoint gives it, or quantised as
     * {@link #linears()} asks, else dense as {@link #take}.
     */
    public LinearWeight takeLinear(String key, long out, long in) {
        LinearWeight quantised = linears.take(key, out, in);
        return quantised != null ? quantised : LinearWeight.of(take(key, out, in));
    }

    /** How this model's Linears are quantised and packed as they are taken, and what they share. */
    public QuantizedLinears linears() {
        return linears;
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
            Int4Format.Scheme int4 = Int4Format.Scheme.ofParamsKey(e.getKey());
            if (!taken.contains(e.getKey()) && int4 != null) {
                throw new ModelLoadException(Int4Format.strayParams(e.getKey(), e.getValue().origin(),
                        entries.containsKey(int4.params.weightOf(e.getKey()))));
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
