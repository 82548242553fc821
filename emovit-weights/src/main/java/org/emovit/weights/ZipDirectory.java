package org.emovit.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The central directory of a zip file (zip64 included), with each entry's data offset found from its local
 * file header, so stored (uncompressed) entries can be memory-mapped in place. Only what PyTorch checkpoints
 * need: no encryption, no multi-disk archives; methods stored (0) and deflate (8).
 */
final class ZipDirectory {
    static final int STORED = 0;
    static final int DEFLATED = 8;

    record Entry(String name, int method, long compressedSize, long size, long headerOffset, long dataOffset) {
        boolean stored() {
            return method == STORED;
        }
    }

    private static final int EOCD_SIG = 0x06054b50;
    private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    private static final int ZIP64_EOCD_SIG = 0x06064b50;
    private static final int CEN_SIG = 0x02014b50;
    private static final int LOC_SIG = 0x04034b50;

    private final Path file;
    private final FileChannel channel;
    private final Map<String, Entry> entries;

    private ZipDirectory(Path file, FileChannel channel, Map<String, Entry> entries) {
        this.file = file;
        this.channel = channel;
        this.entries = Collections.unmodifiableMap(entries);
    }

    Map<String, Entry> entries() {
        return entries;
    }

    Entry get(String name) {
        return entries.get(name);
    }

    private static WeightsException corrupt(Path file, String why) {
        return new WeightsException(file + " is a truncated or corrupt zip archive: " + why);
    }

    private static ByteBuffer read(FileChannel ch, Path file, long pos, int len, String what) {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        try {
            long p = pos;
            while (b.hasRemaining()) {
                int n = ch.read(b, p);
                if (n < 0) {
                    throw corrupt(file, "end of file while reading " + what);
                }
                p += n;
            }
        } catch (IOException e) {
            throw new WeightsException("cannot read " + what + " of " + file + ": " + e, e);
        }
        b.flip();
        return b;
    }

    static ZipDirectory read(Path file, FileChannel ch) {
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            throw new WeightsException("cannot read " + file + ": " + e, e);
        }
        // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the very end.
        int tailLen = (int) Math.min(size, 22 + 65535);
        if (tailLen < 22) {
            throw corrupt(file, "only " + size + " bytes");
        }
        ByteBuffer tail = read(ch, file, size - tailLen, tailLen, "the end of the archive");
        int eocd = -1;
        for (int i = tailLen - 22; i >= 0; i--) {
            if (tail.getInt(i) == EOCD_SIG && i + 22 + (tail.getShort(i + 20) & 0xffff) == tailLen) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw corrupt(file, "no end-of-central-directory record");
        }
        long eocdPos = size - tailLen + eocd;
        long count = tail.getShort(eocd + 10) & 0xffff;
        long cdSize = tail.getInt(eocd + 12) & 0xffffffffL;
        long cdOffset = tail.getInt(eocd + 16) & 0xffffffffL;
        if (eocdPos >= 20) {
            ByteBuffer loc = read(ch, file, eocdPos - 20, 20, "the zip64 locator");
            if (loc.getInt(0) == ZIP64_LOCATOR_SIG) {
                long z64Pos = loc.getLong(8);
                if (z64Pos < 0 || z64Pos + 56 > eocdPos) {
                    throw corrupt(file, "bad zip64 end-of-central-directory offset " + z64Pos);
                }
                ByteBuffer z = read(ch, file, z64Pos, 56, "the zip64 end-of-central-directory record");
                if (z.getInt(0) != ZIP64_EOCD_SIG) {
                    throw corrupt(file, "bad zip64 end-of-central-directory signature");
                }
                count = z.getLong(32);
                cdSize = z.getLong(40);
                cdOffset = z.getLong(48);
            }
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > eocdPos || cdSize > Integer.MAX_VALUE) {
            throw corrupt(file, "central directory [" + cdOffset + ", +" + cdSize + ") lies outside the file");
        }
        ByteBuffer cd = read(ch, file, cdOffset, (int) cdSize, "the central directory");
        Map<String, Entry> entries = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cd.limit() || cd.getInt(p) != CEN_SIG) {
                throw corrupt(file, "bad central directory entry #" + i);
            }
            int flags = cd.getShort(p + 8) & 0xffff;
            int method = cd.getShort(p + 10) & 0xffff;
            long csize = cd.getInt(p + 20) & 0xffffffffL;
            long usize = cd.getInt(p + 24) & 0xffffffffL;
            int nameLen = cd.getShort(p + 28) & 0xffff;
            int extraLen = cd.getShort(p + 30) & 0xffff;
            int commentLen = cd.getShort(p + 32) & 0xffff;
            long lho = cd.getInt(p + 42) & 0xffffffffL;
            if (p + 46 + nameLen + extraLen + commentLen > cd.limit()) {
                throw corrupt(file, "central directory entry #" + i + " runs past the directory");
            }
            byte[] nb = new byte[nameLen];
            cd.get(p + 46, nb);
            String name = new String(nb, StandardCharsets.UTF_8);
            // zip64 extended information: the fields saturated in the fixed part, in this order.
            int x = p + 46 + nameLen;
            int xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                int id = cd.getShort(x) & 0xffff;
                int len = cd.getShort(x + 2) & 0xffff;
                if (id == 0x0001) {
                    int q = x + 4;
                    int qEnd = Math.min(q + len, xEnd);
                    if (usize == 0xffffffffL && q + 8 <= qEnd) {
                        usize = cd.getLong(q);
                        q += 8;
                    }
                    if (csize == 0xffffffffL && q + 8 <= qEnd) {
                        csize = cd.getLong(q);
                        q += 8;
                    }
                    if (lho == 0xffffffffL && q + 8 <= qEnd) {
                        lho = cd.getLong(q);
                    }
                }
                x += 4 + len;
            }
            p += 46 + nameLen + extraLen + commentLen;
            if ((flags & 1) != 0) {
                throw new WeightsException(file + ": zip entry " + name + " is encrypted");
            }
            if (lho < 0 || lho + 30 > cdOffset) {
                throw corrupt(file, "entry " + name + " has local header offset " + lho + " outside the file");
            }
            ByteBuffer lh = read(ch, file, lho, 30, "the local header of " + name);
            if (lh.getInt(0) != LOC_SIG) {
                throw corrupt(file, "entry " + name + " has no local file header at offset " + lho);
            }
            long dataOffset = lho + 30 + (lh.getShort(26) & 0xffff) + (lh.getShort(28) & 0xffff);
            if (csize < 0 || usize < 0 || dataOffset + csize > cdOffset) {
                throw corrupt(file, "entry " + name + " (" + csize + " bytes at " + dataOffset
                        + ") runs past the data area");
            }
            if (method == STORED && csize != usize) {
                throw corrupt(file, "stored entry " + name + " has compressed size " + csize + " != size " + usize);
            }
            entries.put(name, new Entry(name, method, csize, usize, lho, dataOffset));
        }
        return new ZipDirectory(file, ch, entries);
    }

    /** An entry's whole (uncompressed) content on the heap; for small entries and compressed storages. */
    byte[] readBytes(Entry e) {
        if (e.size() > Integer.MAX_VALUE - 8) {
            throw new WeightsException("zip entry " + e.name() + " in " + file + " is " + e.size()
                    + " bytes, too large to decompress into memory; re-save it uncompressed");
        }
        if (e.compressedSize() > Integer.MAX_VALUE - 8) {
            throw new WeightsException("zip entry " + e.name() + " in " + file + " is too large to read");
        }
        ByteBuffer raw = read(channel, file, e.dataOffset(), (int) e.compressedSize(), "entry " + e.name());
        if (e.method() == STORED) {
            return raw.array();
        }
        if (e.method() != DEFLATED) {
            throw new WeightsException("zip entry " + e.name() + " in " + file + " uses compression method "
                    + e.method() + "; only stored (0) and deflate (8) are supported");
        }
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(raw.array());
            byte[] out = new byte[(int) e.size()];
            int n = 0;
            while (n < out.length) {
                int k = inf.inflate(out, n, out.length - n);
                if (k == 0 && (inf.finished() || inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                n += k;
            }
            if (n != out.length) {
                throw corrupt(file, "entry " + e.name() + " inflates to " + n + " bytes, expected " + e.size());
            }
            return out;
        } catch (DataFormatException ex) {
            throw corrupt(file, "entry " + e.name() + " does not inflate: " + ex.getMessage());
        } finally {
            inf.end();
        }
    }
}
