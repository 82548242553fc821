package org.emovit.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.emovit.core.AtomicFiles;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a PyTorch zip checkpoint as torch.save does, so that PyTorch (and LAVIS's load_checkpoint) read it:
 * `archive/data.pkl` (a protocol-2 pickle of {"model": OrderedDict(name -> tensor)} with each tensor rebuilt by
 * torch._utils._rebuild_tensor_v2 from a persistent storage id), `archive/data/N` (raw little-endian storages,
 * stored uncompressed), `archive/byteorder` and `archive/version`. Written by hand because no Java library
 * writes torch pickles; the pickle uses only the opcodes torch.load's unpickler needs.
 */
public final class TorchCheckpointWriter {
    private TorchCheckpointWriter() {}

    /**
     * @param wrapKey when not null, the state dict is stored under this key of a top-level dict (LAVIS: "model")
     */
    public static void write(Path file, Map<String, RawTensor> tensors, String wrapKey) {
        String archive = "archive";
        try {
            Path tmp = OutputFiles.temporaryBeside(file.toAbsolutePath());
            try (OutputStream os = Files.newOutputStream(tmp, java.nio.file.StandardOpenOption.CREATE_NEW);
                 ZipOutputStream zip = new ZipOutputStream(os)) {
                zip.setMethod(ZipOutputStream.STORED);
                stored(zip, archive + "/data.pkl", pickle(tensors, wrapKey));
                stored(zip, archive + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
                int i = 0;
                for (RawTensor t : tensors.values()) {
                    ByteBuffer data = t.data();
                    byte[] bytes = new byte[data.remaining()];
                    data.get(bytes);
                    stored(zip, archive + "/data/" + i++, bytes);
                }
                stored(zip, archive + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            }
            AtomicFiles.moveIntoPlace(tmp, file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write PyTorch checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    private static void stored(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        ZipEntry e = new ZipEntry(name);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        e.setMethod(ZipEntry.STORED);
        e.setTimeLocal(OutputFiles.FIXED_TIME);   // no wall-clock time inside: the same tensors give the same bytes
        e.setSize(bytes.length);
        e.setCompressedSize(bytes.length);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(bytes);
        zip.closeEntry();
    }

    private static String storageClass(DType d) {
        return switch (d) {
            case F64 -> "DoubleStorage";
            case F32 -> "FloatStorage";
            case F16 -> "HalfStorage";
            case BF16 -> "BFloat16Storage";
            case I64 -> "LongStorage";
            case I32 -> "IntStorage";
            case I16 -> "ShortStorage";
            case I8 -> "CharStorage";
            case U8 -> "ByteStorage";
            case BOOL -> "BoolStorage";
        };
    }

    /** The pickle: [{wrapKey: ] OrderedDict(name -> _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())) [}]. */
    static byte[] pickle(Map<String, RawTensor> tensors, String wrapKey) {
        Pickle p = new Pickle();
        p.op(0x80).op(2);                       // PROTO 2
        if (wrapKey != null) {
            p.op('}');                          // EMPTY_DICT
            p.unicode(wrapKey);
        }
        p.global("collections", "OrderedDict").op(')').op('R');   // OrderedDict()
        p.op('(');                              // MARK
        int i = 0;
        for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
            RawTensor t = e.getValue();
            p.unicode(e.getKey());
            p.global("torch._utils", "_rebuild_tensor_v2");
            p.op('(');                          // MARK for the args tuple
            p.op('(');                          // persistent id tuple
            p.unicode("storage").global("torch", storageClass(t.dtype())).unicode(Integer.toString(i++)).unicode("cpu").integer(t.numel());
            p.op('t');                          // TUPLE
            p.op('Q');                          // BINPERSID
            p.integer(0);
            p.longTuple(t.shape());
            p.longTuple(contiguousStrides(t.shape()));
            p.op(0x89);                         // NEWFALSE (requires_grad)
            p.global("collections", "OrderedDict").op(')').op('R');   // backward hooks
            p.op('t');                          // TUPLE
            p.op('R');                          // REDUCE
        }
        p.op('u');                              // SETITEMS
        if (wrapKey != null) {
            p.op('s');                          // SETITEM
        }
        p.op('.');                              // STOP
        return p.bytes();
    }

    private static long[] contiguousStrides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** The few pickle opcodes needed, protocol 2. */
    private static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int code) {
            out.write(code);
            return this;
        }

        Pickle global(String module, String name) {
            out.write('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle unicode(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.write('X');                     // BINUNICODE
            le32(b.length);
            out.writeBytes(b);
            return this;
        }

        Pickle integer(long v) {
            if (v >= 0 && v < 256) {
                out.write('K');                 // BININT1
                out.write((int) v);
            } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                out.write('J');                 // BININT
                le32((int) v);
            } else {
                out.write(0x8a);                // LONG1, 8 bytes little-endian
                out.write(8);
                for (int i = 0; i < 8; i++) {
                    out.write((int) (v >>> (8 * i)) & 0xff);
                }
            }
            return this;
        }

        Pickle longTuple(long[] values) {
            out.write('(');
            for (long v : values) {
                integer(v);
            }
            out.write('t');
            return this;
        }

        private void le32(int v) {
            for (int i = 0; i < 4; i++) {
                out.write((v >>> (8 * i)) & 0xff);
            }
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
