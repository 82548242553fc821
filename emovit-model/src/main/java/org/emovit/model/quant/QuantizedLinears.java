package org.emovit.model.quant;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.LinearWeight;
import org.emovit.model.ModelLoadException;
import org.emovit.model.NativeMemory;

/**
 * The one loader call for quantised Linears: a Linear's weight as its checkpoint stores it (int8 values and scales,
 * 4-bit levels and their group parameters, recognised by their {@link SiblingKey}), or quantised as it is taken where
 * a model is built from float weights (random models, unconverted checkpoints, bench), and packed for the faster
 * product where that is exact. The state dict only maps tensors; what a format means stays in this package.
 */
public final class QuantizedLinears implements AutoCloseable {
    /** What the state dict's tensors offer: their stored shapes and origins, and taking them. */
    public interface Source {
        /** Whether the checkpoint holds this key. */
        boolean has(String key);

        /** The stored shape of a key the checkpoint holds, else null. */
        long[] storedShape(String key);

        /** Its file, for messages (or the random model). */
        String originOf(String key);

        /** A tensor in the model's dtype, checked against {@code shape}. */
        Tensor take(String key, long... shape);

        /** A tensor in the dtype the checkpoint must store it in, as it is: mapped in place. */
        Tensor takeStored(String key, ScalarType stored, long... shape);

        /** How to copy a key's bytes into a buffer without touching its mapping, or null. */
        java.util.function.Consumer<java.nio.ByteBuffer> copier(String key);

        /** The model's parameters under {@code key} become {@code stored} (what a checkpoint writer would write). */
        void replace(String key, Map<String, Tensor> stored);
    }

    /** Bytes of temporaries freed between trims of the C heap (see {@link #trimEvery}). */
    private static final long TRIM_BYTES = 256L << 20;

    private final Source source;
    private final Device device;
    private final Int8Workspace workspace = new Int8Workspace();
    private final Set<String> packed = new LinkedHashSet<>();
    private Predicate<String> toInt8 = key -> false;
    private Predicate<String> toInt4 = key -> false;
    /** Whether int8 Linears that {@link PackedInt8#packs} may be packed, and whether quantised ones keep their values. */
    private boolean pack;
    private boolean keepPackedValues = true;
    private long untrimmedBytes;

    public QuantizedLinears(Source source, Device device) {
        this.source = source;
        this.device = device;
    }

    /** Dense Linear weights whose keys match are quantised to int8 as they are taken. */
    public void toInt8(Predicate<String> keys) {
        this.toInt8 = keys;
    }

    /**
     * Dense Linear weights whose keys match (and whose widths {@link Int4Format#accepts}) are quantised to 4 bits as
     * they are taken; they keep their stored levels unless {@link #pack} said otherwise.
     */
    public void toInt4(Predicate<String> keys) {
        this.toInt4 = keys;
    }

    /** Dense Linear weights are quantised as {@code quantization} would store them. */
    public void quantizeAs(Quantization quantization) {
        toInt8(quantization::quantizes);
        toInt4(quantization::quantizesInt4);
    }

    /**
     * Int8 Linears whose keys {@link PackedInt8#packs} are packed for FBGEMM where that is exact on this CPU (see
     * {@link PackedInt8#available}); quantised ones keep their values only if {@code keepValues} (gradients need
     * them: Grad-CAM, training). Checkpoints stored int8 keep theirs mapped either way.
     */
    public void pack(boolean keepValues) {
        this.pack = device.is_cpu();
        this.keepPackedValues = keepValues;
    }

    /** Keys of the int8 Linears packed so far. */
    public Set<String> packedKeys() {
        return java.util.Collections.unmodifiableSet(packed);
    }

    /** The buffer the model's int8 Linears share for their GEMM path; the model closes it. */
    public Int8Workspace workspace() {
        return workspace;
    }

    @Override
    public void close() {
        workspace.close();
    }

    /** The scheme of a weight stored 4-bit (by its parameters' key), or null. */
    private Int4Format.Scheme storedScheme(String key) {
        for (Int4Format.Scheme s : Int4Format.Scheme.values()) {
            if (source.has(s.params.of(key))) {
                return s;
            }
        }
        return null;
    }

    /**
     * A Linear's weight [out, in] where it is stored or to be held quantised; null where it is a dense weight (the
     * state dict takes it as any other tensor).
     */
    public LinearWeight take(String key, long out, long in) {
        Int4Format.Scheme scheme = storedScheme(key);
        if (scheme != null) {
            String paramsKey = scheme.params.of(key);
            long[] stored = source.storedShape(key);
            if (stored != null && Arrays.equals(stored, new long[] {out, in})) {   // a dense weight's shape
                throw new ModelLoadException(Int4Format.strayParams(paramsKey, source.originOf(paramsKey), true));
            }
            boolean streamed = Int4Weight.kernelFor(device, out, in) == Int4Weight.Kernel.NATIVE;
            Tensor values = resident(key, source.takeStored(key, ScalarType.Byte, Int4Format.valuesShape(out, in)), streamed);
            Tensor params = resident(paramsKey, source.takeStored(paramsKey, Int4Format.PARAMS_TYPE, scheme.paramsShape(out, in)), streamed);
            Int4Weight w = Int4Weight.load(values, params, () -> packSource(key, values), key, source.originOf(paramsKey));
            // the temporaries freed: the int32 levels a packing unpacked, a block at a time, or (nothing packed) the
            // float copy of the scales and zeros that their check made (0.8 GB at 7B: 6.0 GiB of classify's peak
            // against 5.2 untrimmed)
            trimEvery(w.kernel() == Int4Weight.Kernel.LIBTORCH ? 4 * values.numel() : 2 * params.nbytes());
            return LinearWeight.of(w);
        }
        if (toInt4.test(key) && Int4Format.accepts(out, in)) {
            Tensor dense = source.take(key, out, in);
            Int4Weight w = Int4Weight.of(dense, keepPackedValues);
            Map<String, Tensor> stored = new LinkedHashMap<>();
            if (w.hasValues()) {
                stored.put(key, w.values());
                stored.put(Int4Format.Scheme.of(w.params()).params.of(key), w.params());
            }
            source.replace(key, stored);
            freed(dense);
            return LinearWeight.of(w);
        }
        String scaleKey = Int8Format.scaleKeyOf(key);
        if (source.has(scaleKey)) {
            Tensor values = source.takeStored(key, ScalarType.Char, out, in);
            Tensor scales = source.takeStored(scaleKey, ScalarType.Float, out);
            Int8Format.requireValidScales(scales, scaleKey, source.originOf(scaleKey));
            if (!packs(key, in)) {
                return LinearWeight.of(new Int8Weight(values, scales, workspace));
            }
            packed.add(key);
            Int8Weight packedWeight = Int8Weight.packed(values, scales, workspace, packSource(key, values));
            trimEvery(values.nbytes());   // packing's temporaries, as quantising's below
            return LinearWeight.of(packedWeight);
        }
        if (toInt8.test(key) && packs(key, in) && !keepPackedValues) {
            // Quantised into the scratch buffer, packed, and not kept: the model holds the packing alone (bench).
            Tensor values = workspace.bytes(out * in).view(out, in), scales = Int8Weight.emptyScales(out, device);
            Tensor dense = source.take(key, out, in);
            Int8Weight q = Int8Weight.quantizeInto(dense, values, scales, workspace).packedAlone();
            Int8Format.requireValidScales(q.scales(), scaleKey, Int8Format.quantisedFrom(source.originOf(key)));
            packed.add(key);
            source.replace(key, Map.of(scaleKey, q.scales()));
            freed(dense);
            trimEvery(values.nbytes());
            return LinearWeight.of(q);
        }
        if (toInt8.test(key)) {
            Tensor values = Int8Weight.emptyValues(out, in, device), scales = Int8Weight.emptyScales(out, device);
            Tensor dense = source.take(key, out, in);   // after its int8 destination (see Int8Weight.quantizeInto)
            Int8Weight q = Int8Weight.quantizeInto(dense, values, scales, workspace);
            Int8Format.requireValidScales(q.scales(), scaleKey, Int8Format.quantisedFrom(source.originOf(key)));
            Map<String, Tensor> stored = new LinkedHashMap<>();
            stored.put(key, q.values());
            stored.put(scaleKey, q.scales());
            source.replace(key, stored);
            freed(dense);
            if (!packs(key, in)) {
                return LinearWeight.of(q);
            }
            packed.add(key);
            return LinearWeight.of(q.packed(q.values()));
        }
        return null;
    }

    /**
     * Whether this int8 Linear is packed. FBGEMM's exactness is asked last, so only a model with int8 weights runs it
     * (and spends its operators' deprecation notices: see {@link DeprecationNotices}).
     */
    private boolean packs(String key, long in) {
        return pack && PackedInt8.packs(key) && PackedInt8.fits(in) && PackedInt8.available();
    }

    /**
     * What to pack a mapped weight from: its bytes read from the file into the scratch buffer, so the mapping itself
     * stays untouched (6.5 GB of resident pages at 7B otherwise); the values themselves where the entry cannot be
     * read that way.
     */
    /**
     * A stored 4-bit part that the native kernel streams every token, read from its file into memory of its own in
     * 2 MB pages ({@link NativeInt4#readIntoHugePages}); as mapped where it cannot be (no file behind it) or where another
     * kernel packs it. Read, not mapped: a mapping is as fast only where the kernel happens to cache the file in 2 MB
     * folios (recent kernels, some filesystems, a file not just written): a checkpoint just converted decoded 20% slower
     * mapped than copied on this project's machine. The file reads leave the mapping untouched, so the process's
     * resident memory is the copy alone.
     */
    private Tensor resident(String key, Tensor mapped, boolean streamed) {
        java.util.function.Consumer<java.nio.ByteBuffer> copier = streamed ? source.copier(key) : null;
        return copier != null ? NativeInt4.readIntoHugePages(mapped, copier) : mapped;
    }

    private Tensor packSource(String key, Tensor values) {
        java.util.function.Consumer<java.nio.ByteBuffer> copier = source.copier(key);
        if (copier == null) {
            return values;
        }
        long n = values.numel();
        Tensor scratch = workspace.bytes(n);
        java.nio.ByteBuffer target = new org.bytedeco.javacpp.BytePointer(scratch.data_ptr()).capacity(n).asByteBuffer();
        copier.accept(target);
        return scratch.view(values.size(0), values.size(1));
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
}
