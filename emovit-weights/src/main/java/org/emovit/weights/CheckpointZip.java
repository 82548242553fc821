package org.emovit.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;

/**
 * The zip of a PyTorch checkpoint, read with commons-compress. Its {@link ZipFile} resolves each entry's local
 * header when it opens, so {@link ZipArchiveEntry#getDataOffset()} is where a stored entry's bytes start in
 * the file: storages are memory-mapped there, in place, and never copied. On top of the library, the checks
 * that mapping needs (the library does not make them, and a wrong offset would hand out garbage tensors): a
 * local file header where the directory says, stored sizes that agree, no encryption.
 */
final class CheckpointZip implements AutoCloseable {
    /** "PK\3\4", little-endian: the signature every local file header starts with. */
    private static final int LOCAL_HEADER_SIG = 0x04034b50;

    private final Path file;
    private final ZipFile zip;
    private final Map<String, ZipArchiveEntry> entries;

    private CheckpointZip(Path file, ZipFile zip, Map<String, ZipArchiveEntry> entries) {
        this.file = file;
        this.zip = zip;
        this.entries = Collections.unmodifiableMap(entries);
    }

    /** Whether an entry's bytes are the data itself (PyTorch writes storages so), and so can be mapped. */
    static boolean stored(ZipArchiveEntry e) {
        return e.getMethod() == ZipEntry.STORED;
    }

    private static WeightsException corrupt(Path file, String why) {
        return new WeightsException(file + " is a truncated or corrupt zip archive: " + why);
    }

    /**
     * Reads the central directory of {@code file} through {@code ch}, which the archive then reads from (and
     * closes when it is closed).
     */
    static CheckpointZip open(Path file, FileChannel ch) {
        ZipFile zip;
        try {
            zip = ZipFile.builder().setSeekableByteChannel(ch).get();
        } catch (IOException e) {
            // the caller has checked the zip signature at the start: whatever fails now is damage
            throw corrupt(file, String.valueOf(e.getMessage()));
        }
        try {
            Map<String, ZipArchiveEntry> entries = new LinkedHashMap<>();
            for (Enumeration<ZipArchiveEntry> it = zip.getEntries(); it.hasMoreElements();) {
                ZipArchiveEntry e = it.nextElement();
                check(file, ch, e);
                entries.putIfAbsent(e.getName(), e);
            }
            return new CheckpointZip(file, zip, entries);
        } catch (RuntimeException e) {
            ZipFile.closeQuietly(zip);
            throw e;
        }
    }

    private static void check(Path file, FileChannel ch, ZipArchiveEntry e) {
        String name = e.getName();
        if (e.getGeneralPurposeBit().usesEncryption()) {
            throw new WeightsException(file + ": zip entry " + name + " is encrypted");
        }
        long lho = e.getLocalHeaderOffset();
        ByteBuffer sig = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        WeightFiles.readFully(ch, sig, lho, file, "the local header of " + name);
        if (sig.getInt(0) != LOCAL_HEADER_SIG) {
            throw corrupt(file, "entry " + name + " has no local file header at offset " + lho);
        }
        long csize = e.getCompressedSize();
        long usize = e.getSize();
        if (e.getDataOffset() < 0 || csize < 0 || usize < 0) {
            throw corrupt(file, "entry " + name + " has no known data offset or size");
        }
        if (stored(e) && csize != usize) {
            throw corrupt(file, "stored entry " + name + " has compressed size " + csize + " != size " + usize);
        }
    }

    Map<String, ZipArchiveEntry> entries() {
        return entries;
    }

    ZipArchiveEntry get(String name) {
        return entries.get(name);
    }

    /** An entry's whole (uncompressed) content on the heap; for small entries and compressed storages. */
    byte[] readBytes(ZipArchiveEntry e) {
        if (e.getSize() > Integer.MAX_VALUE - 8) {
            throw new WeightsException("zip entry " + e.getName() + " in " + file + " is " + e.getSize()
                    + " bytes, too large to decompress into memory; re-save it uncompressed");
        }
        if (!zip.canReadEntryData(e)) {
            throw new WeightsException("zip entry " + e.getName() + " in " + file + " uses compression method "
                    + e.getMethod() + ", which cannot be read; re-save it uncompressed");
        }
        byte[] out;
        try (InputStream in = zip.getInputStream(e)) {
            out = in.readNBytes((int) e.getSize());
        } catch (IOException ex) {
            throw corrupt(file, "entry " + e.getName() + " does not read: " + ex.getMessage());
        }
        if (out.length != e.getSize()) {
            throw corrupt(file, "entry " + e.getName() + " reads as " + out.length + " bytes, expected " + e.getSize());
        }
        return out;
    }

    @Override
    public void close() {
        ZipFile.closeQuietly(zip);
    }
}
