package org.emovit.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.emovit.model.quant.Int8Format;
import org.emovit.weights.DType;
import org.emovit.weights.RawTensor;
import org.emovit.weights.Safetensors;
import org.emovit.weights.TensorSource;
import org.emovit.weights.TorchCheckpoint;
import org.emovit.weights.TorchCheckpointWriter;

/**
 * Seeded mutations of small safetensors and PyTorch {@code .pth} files, each read as the model reads a checkpoint:
 * every tensor the reader hands out goes into libtorch ({@link Tensors#viewOf}, a conversion and a sum), and every
 * int8 weight with its scales through {@link StateDict#takeLinear} and a product of 1 and 3 rows (the int8 kernel
 * where the weight allows it). A case must end in success or in an exception whose message is one line naming the
 * file; anything else is printed as {@code BAD}. Runs in a JVM of its own ({@link CheckpointFuzzTest}): a native
 * crash there is a failed test that names the case, not a dead test runner.
 *
 * <p>Mutations: valid re-layouts (the data start and every tensor moved to any byte offset, gaps between tensors;
 * storages of a .pth moved by zip extra fields), and invalid or unusual headers: offsets, dtypes and shapes changed
 * (a shape changed with its span is valid and loads), keys dropped, header bytes flipped, files truncated; pickle
 * bytes flipped or storage classes swapped, storages cut short.
 */
public final class CheckpointFuzz {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Device CPU = new Device("cpu");
    private static final String[] DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "U16", "", "f32"};
    private static final String[] STORAGES = {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
            "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "QInt8Storage", "ComplexFloatStorage"};

    /** What the cases ended in. */
    public record Tally(int cases, int loaded, int refused, List<String> bad) {
        @Override
        public String toString() {
            return "cases " + cases + ", loaded " + loaded + ", refused " + refused + ", bad " + bad.size();
        }
    }

    private final Random random;
    private final Path dir;
    private final Map<String, RawTensor> base;

    CheckpointFuzz(long seed, Path dir) {
        this.random = new Random(seed);
        this.dir = dir;
        this.base = baseTensors(random);
    }

    /** {@code CheckpointFuzz SEED CASES DIR}: prints each case as it starts, the BAD ones, and the tally last. */
    public static void main(String[] args) throws Exception {
        NativeMemory.configure();
        Tally t = new CheckpointFuzz(Long.parseLong(args[0]), Path.of(args[2])).run(Integer.parseInt(args[1]), System.out);
        System.out.println("tally: " + t);
        System.exit(0);
    }

    Tally run(int cases, java.io.PrintStream log) throws IOException {
        int loaded = 0, refused = 0;
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < cases; i++) {
            boolean pth = i % 2 == 1;
            Path file = dir.resolve("case" + i + (pth ? ".pth" : ".safetensors"));
            String mutation = pth ? writePth(file) : writeSafetensors(file);
            log.println("case " + i + ": " + mutation);
            log.flush();
            String outcome = read(file, pth);
            if (outcome == null) {
                loaded++;
            } else if (outcome.startsWith("refused")) {
                refused++;
                log.println("  " + outcome);
            } else {
                bad.add("case " + i + " (" + mutation + "): " + outcome);
                log.println("BAD case " + i + " (" + mutation + "): " + outcome);
            }
            Files.delete(file);
        }
        return new Tally(cases, loaded, refused, bad);
    }

    /** null when every tensor loaded, "refused: ..." for a one-line error naming the file, else what went wrong. */
    private static String read(Path file, boolean pth) {
        try (TensorSource src = pth ? TorchCheckpoint.open(file) : Safetensors.open(file);
             PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            StateDict sd = new StateDict(ScalarType.Float, CPU);
            sd.linears().pack(true);
            for (String key : src.keys()) {
                RawTensor raw = src.get(key);
                Tensor t = Tensors.viewOf(raw);
                t.to(ScalarType.Float).sum().item_double();
                if (t.dim() == 2 && raw.dtype().isFloatingPoint()) {
                    // a dense Linear on the mapped bytes themselves (BLAS and oneDNN kernels in each float dtype)
                    torch.linear(torch.ones(new long[] {3, t.size(1)}, Tensors.options(t.scalar_type(), CPU)), t).sum().item_double();
                }
                sd.put(key, new StateDict.Entry(raw.shape(), src.describe(), () -> Tensors.viewOf(src.get(key)), target -> src.readInto(key, target)));
            }
            for (String key : src.keys()) {
                long[] shape = sd.entry(key).shape();
                if (src.contains(Int8Format.scaleKeyOf(key)) && shape.length == 2) {
                    LinearWeight w = sd.takeLinear(key, shape[0], shape[1]);
                    for (long rows : new long[] {1, 3}) {
                        Ops.linear(torch.randn(new long[] {rows, shape[1]}, Tensors.options(ScalarType.BFloat16, CPU)), w, null);
                    }
                }
            }
            return null;
        } catch (Throwable e) {
            String m = e.getMessage();
            boolean oneLine = m != null && !m.contains("\n") && m.contains(file.toString());
            boolean expected = e instanceof org.emovit.weights.WeightsException || e instanceof ModelLoadException;
            return oneLine && expected ? "refused: " + m : e.getClass().getName() + ": " + m;
        }
    }

    /**
     * Tensors of every dtype the readers take, an int8 weight the kernel takes and an LLM one it cannot (K = 40, packed
     * where FBGEMM runs), and an empty one.
     */
    private static Map<String, RawTensor> baseTensors(Random r) {
        Map<String, RawTensor> m = new LinkedHashMap<>();
        m.put("a.weight", bytes(r, DType.I8, 5, 16));
        m.put("a.weight_scale", RawTensor.ofFloats(new long[] {5}, new float[] {0.01f, 0.02f, 0.5f, 1f, 3f}));
        m.put("language_model.k.weight", bytes(r, DType.I8, 3, 40));   // an LLM Linear: packed for FBGEMM where that runs
        m.put("language_model.k.weight_scale", RawTensor.ofFloats(new long[] {3}, new float[] {0.1f, 0.2f, 0.3f}));
        m.put("f32", RawTensor.ofFloats(new long[] {3, 7}, floats(r, 21)));
        m.put("bf16", halfs(r, DType.BF16, 4, 9));
        m.put("f16", halfs(r, DType.F16, 2, 3));
        m.put("f64", bytesOf(DType.F64, new long[] {2, 2}, ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putDouble(1).putDouble(-2).putDouble(0.5).putDouble(3).array()));
        m.put("i64", RawTensor.ofLongs(new long[] {3}, new long[] {1, -2, 3}));
        m.put("i32", bytes(r, DType.I32, 2));
        m.put("i16", bytes(r, DType.I16, 3));
        m.put("u8", bytes(r, DType.U8, 5));
        m.put("bool", bytesOf(DType.BOOL, new long[] {3}, new byte[] {0, 1, 1}));
        m.put("empty", RawTensor.ofFloats(new long[] {0, 4}, new float[0]));
        return m;
    }

    private static RawTensor bytes(Random r, DType d, long... shape) {
        byte[] b = new byte[(int) RawTensor.byteCount(d, shape)];
        r.nextBytes(b);
        if (d == DType.I8) {
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) Math.max(-127, b[i]);
            }
        }
        return bytesOf(d, shape, b);
    }

    private static RawTensor bytesOf(DType d, long[] shape, byte[] b) {
        return RawTensor.of(d, shape, b);
    }

    private static float[] floats(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }

    /** Finite 16-bit floats (random bits would include NaNs, which the sum does not mind, but keep them readable). */
    private static RawTensor halfs(Random r, DType d, long... shape) {
        int n = (int) RawTensor.numel(shape);
        ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putShort((short) (0x3c00 + r.nextInt(0x400)));
        }
        return bytesOf(d, shape, b.array());
    }

    private long interesting(long near) {
        long[] choices = {0, 1, -1, near - 1, near + 1, near + 8, near - 8, near * 2, Integer.MAX_VALUE, Long.MAX_VALUE, 1L << 40, -near};
        return choices[random.nextInt(choices.length)];
    }

    // ---- safetensors ----

    private String writeSafetensors(Path file) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        int headerPad = random.nextInt(64);
        for (Map.Entry<String, RawTensor> e : base.entrySet()) {
            int gap = random.nextInt(4) == 0 ? random.nextInt(18) : 0;
            data.write(new byte[gap], 0, gap);
            ByteBuffer b = e.getValue().data();
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype().safetensorsName());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(data.size()).add(data.size() + bytes.length);
            data.write(bytes, 0, bytes.length);
        }
        String mutation = "relayout (header pad " + headerPad + ")" + mutateHeader(header);
        byte[] json = (JSON.writeValueAsString(header) + " ".repeat(headerPad)).getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(data.toByteArray());
        byte[] bytes = out.array();
        switch (random.nextInt(12)) {
            case 0 -> {
                int at = 8 + random.nextInt(json.length);
                bytes[at] = (byte) random.nextInt(256);
                mutation += ", header byte " + at + " changed";
            }
            case 1 -> {
                int keep = random.nextInt(bytes.length);
                bytes = Arrays.copyOf(bytes, keep);
                mutation += ", truncated to " + keep;
            }
            case 2 -> {
                long n = interesting(json.length);
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
                mutation += ", header length " + n;
            }
            default -> { }
        }
        Files.write(file, bytes);
        return mutation;
    }

    private String mutateHeader(ObjectNode header) {
        List<String> keys = new ArrayList<>();
        header.fieldNames().forEachRemaining(keys::add);
        String key = keys.get(random.nextInt(keys.size()));
        ObjectNode t = (ObjectNode) header.get(key);
        ArrayNode offsets = (ArrayNode) t.get("data_offsets");
        long begin = offsets.get(0).asLong(), end = offsets.get(1).asLong();
        switch (random.nextInt(10)) {
            case 0 -> {
                offsets.removeAll().add(interesting(begin)).add(end);
                return ", " + key + " begin " + offsets.get(0);
            }
            case 1 -> {
                long shift = random.nextInt(17) - 8;
                offsets.removeAll().add(begin + shift).add(end + shift);
                return ", " + key + " moved by " + shift;
            }
            case 2 -> {
                String dtype = DTYPES[random.nextInt(DTYPES.length)];
                t.put("dtype", dtype);
                return ", " + key + " dtype " + dtype;
            }
            case 3 -> {
                ArrayNode shape = (ArrayNode) t.get("shape");
                if (shape.isEmpty()) {
                    shape.add(1);
                }
                int dim = random.nextInt(shape.size());
                long d = interesting(shape.get(dim).asLong());
                shape.set(dim, JSON.getNodeFactory().numberNode(d));
                return ", " + key + " shape " + shape;
            }
            case 4 -> {
                // the same bytes as another valid shape (flattened or transposed sizes): loads
                long n = RawTensor.numel(toLongs((ArrayNode) t.get("shape")));
                ArrayNode shape = t.putArray("shape");
                if (n % 2 == 0 && random.nextBoolean()) {
                    shape.add(2).add(n / 2);
                } else {
                    shape.add(n);
                }
                return ", " + key + " reshaped " + shape;
            }
            case 5 -> {
                header.remove(key);
                return ", " + key + " dropped";
            }
            case 6 -> {
                t.set("shape", random.nextBoolean() ? JSON.getNodeFactory().textNode("5") : JSON.createArrayNode().add(1.5));
                return ", " + key + " shape " + t.get("shape");
            }
            case 7 -> {
                header.putObject("__metadata__").put("format", "pt").put("n", random.nextInt());
                return ", metadata";
            }
            default -> {
                return "";
            }
        }
    }

    private static long[] toLongs(ArrayNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asLong();
        }
        return out;
    }

    // ---- .pth ----

    private String writePth(Path file) throws IOException {
        Path plain = dir.resolve("plain.pth");
        TorchCheckpointWriter.write(plain, base, random.nextBoolean() ? "model" : null);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(plain))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null;) {
                entries.put(e.getName(), in.readAllBytes());
            }
        }
        Files.delete(plain);
        String mutation = "storages moved";
        List<String> names = new ArrayList<>(entries.keySet());
        String pkl = names.stream().filter(n -> n.endsWith("data.pkl")).findFirst().orElseThrow();
        byte[] pickle = entries.get(pkl);
        switch (random.nextInt(8)) {
            case 0, 1 -> {
                int flips = 1 + random.nextInt(3);
                for (int f = 0; f < flips; f++) {
                    int at = random.nextInt(pickle.length);
                    pickle[at] = (byte) random.nextInt(256);
                }
                mutation += ", " + flips + " pickle byte(s) changed";
            }
            case 2 -> {
                String text = new String(pickle, StandardCharsets.ISO_8859_1);
                String from = STORAGES[random.nextInt(STORAGES.length)], to = STORAGES[random.nextInt(STORAGES.length)];
                entries.put(pkl, text.replace(from, to).getBytes(StandardCharsets.ISO_8859_1));
                mutation += ", " + from + " -> " + to;
            }
            case 3 -> {
                String storage = names.stream().filter(n -> n.contains("/data/")).toList().get(random.nextInt(base.size()));
                byte[] b = entries.get(storage);
                entries.put(storage, Arrays.copyOf(b, random.nextInt(b.length + 1)));
                mutation += ", " + storage + " cut";
            }
            case 4 -> {
                String gone = names.get(random.nextInt(names.size()));
                entries.remove(gone);
                mutation += ", " + gone + " removed";
            }
            default -> { }
        }
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                z.setMethod(ZipEntry.STORED);
                z.setSize(e.getValue().length);
                z.setCompressedSize(e.getValue().length);
                z.setCrc(crc.getValue());
                int pad = random.nextInt(24);
                if (pad >= 4) {   // an unknown extra field moves the entry's data by its length
                    byte[] extra = new byte[pad];
                    ByteBuffer.wrap(extra).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x7e7e).putShort((short) (pad - 4));
                    z.setExtra(extra);
                }
                zip.putNextEntry(z);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return mutation;
    }
}
