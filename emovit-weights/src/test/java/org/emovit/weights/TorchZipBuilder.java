package org.emovit.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes small PyTorch-style zip checkpoints by hand, for tests: a protocol-2 pickle built opcode by opcode
 * (the same opcodes torch.save emits) plus raw storages.
 */
final class TorchZipBuilder {

    /** A pickle written opcode by opcode. */
    static final class Pickle {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int... bytes) {
            for (int b : bytes) {
                out.write(b);
            }
            return this;
        }

        Pickle proto(int v) {
            return op(0x80, v);
        }

        Pickle mark() {
            return op('(');
        }

        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X', b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24);
            out.writeBytes(b);
            return this;
        }

        Pickle integer(long v) {
            int i = (int) v;
            return op('J', i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >>> 24) & 0xff);
        }

        Pickle ints(long... vs) {
            mark();
            for (long v : vs) {
                integer(v);
            }
            return op('t');
        }

        Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        Pickle stackGlobal(String module, String name) {
            str(module);
            str(name);
            return op(0x93);
        }

        Pickle emptyDict() {
            return op('}');
        }

        Pickle emptyTuple() {
            return op(')');
        }

        Pickle tuple() {
            return op('t');
        }

        Pickle reduce() {
            return op('R');
        }

        Pickle setitems() {
            return op('u');
        }

        Pickle setitem() {
            return op('s');
        }

        Pickle build() {
            return op('b');
        }

        Pickle newobj() {
            return op(0x81);
        }

        Pickle bool(boolean b) {
            return op(b ? 0x88 : 0x89);
        }

        Pickle none() {
            return op('N');
        }

        Pickle floatValue(double d) {
            op('G');
            long bits = Double.doubleToLongBits(d);
            for (int i = 7; i >= 0; i--) {
                out.write((int) (bits >>> (8 * i)) & 0xff);
            }
            return this;
        }

        Pickle stop() {
            return op('.');
        }

        /** collections.OrderedDict() */
        Pickle orderedDict() {
            return global("collections", "OrderedDict").emptyTuple().reduce();
        }

        /** The persistent id tuple ('storage', torch.&lt;type&gt;, key, 'cpu', numel) and BINPERSID. */
        Pickle storage(String storageModule, String storageType, String key, long numel) {
            mark().str("storage").global(storageModule, storageType).str(key).str("cpu").integer(numel).tuple();
            return op('Q');
        }

        /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) */
        Pickle tensorV2(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").mark();
            storage("torch", storageType, key, numel);
            integer(offset).ints(size).ints(stride).bool(false).orderedDict().tuple();
            return reduce();
        }

        /** torch._utils._rebuild_tensor_v3(untyped storage, offset, size, stride, False, OrderedDict(), dtype) */
        Pickle tensorV3(String dtypeName, String key, long nbytes, long offset, long[] size, long[] stride) {
            global("torch._utils", "_rebuild_tensor_v3").mark();
            storage("torch.storage", "UntypedStorage", key, nbytes);
            integer(offset).ints(size).ints(stride).bool(false).orderedDict().global("torch", dtypeName).tuple();
            return reduce();
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    private final Map<String, byte[]> entries = new LinkedHashMap<>();
    private final String archive;

    TorchZipBuilder(String archive) {
        this.archive = archive;
    }

    TorchZipBuilder pickle(Pickle p) {
        entries.put(archive + "/data.pkl", p.bytes());
        return this;
    }

    TorchZipBuilder byteorder(String order) {
        entries.put(archive + "/byteorder", order.getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    TorchZipBuilder storage(String key, byte[] data) {
        entries.put(archive + "/data/" + key, data);
        return this;
    }

    TorchZipBuilder entry(String name, byte[] data) {
        entries.put(name, data);
        return this;
    }

    Path write(Path file, boolean compress) throws IOException {
        entries.putIfAbsent(archive + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(entry(e.getKey(), e.getValue(), compress));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return file;
    }

    static ZipEntry entry(String name, byte[] data, boolean compress) {
        ZipEntry z = new ZipEntry(name);
        if (compress) {
            z.setMethod(ZipEntry.DEFLATED);
        } else {
            z.setMethod(ZipEntry.STORED);
            CRC32 crc = new CRC32();
            crc.update(data);
            z.setSize(data.length);
            z.setCompressedSize(data.length);
            z.setCrc(crc.getValue());
        }
        return z;
    }

    /** Copies a zip, every entry re-written with the given method. */
    static Path repack(Path in, Path out, boolean compress) throws IOException {
        try (java.util.zip.ZipFile src = new java.util.zip.ZipFile(in.toFile());
                OutputStream os = Files.newOutputStream(out);
                ZipOutputStream zip = new ZipOutputStream(os)) {
            var it = src.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                byte[] data = src.getInputStream(e).readAllBytes();
                zip.putNextEntry(entry(e.getName(), data, compress));
                zip.write(data);
                zip.closeEntry();
            }
        }
        return out;
    }
}
