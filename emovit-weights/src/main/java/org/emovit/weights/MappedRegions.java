package org.emovit.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Read-only memory mappings of byte regions of one file. {@code MappedByteBuffer} is int-indexed, so a file
 * over 2 GiB needs several mappings: the known regions (tensors, storages) are grouped, in file order, into
 * chunks of at most {@code maxChunk} bytes whose boundaries fall between regions, so every region lies inside
 * one mapping. A region larger than {@code maxChunk} gets a mapping of its own when it is read (it must fit
 * in 2 GiB - 1 bytes). Chunks are mapped lazily, on first use. A slice of any other range is mapped on its own.
 *
 * <p>Closing closes the channel but does not forcibly unmap: tensors handed out earlier stay valid, and the
 * mappings are released by the garbage collector once nothing references them (unmapping memory that a
 * live ByteBuffer still points to would crash the JVM).
 */
final class MappedRegions implements AutoCloseable {
    static final long DEFAULT_MAX_CHUNK = 1L << 30;
    static final long MAX_BUFFER = Integer.MAX_VALUE;

    private final Path file;
    private final FileChannel channel;
    private final long[] chunkStart;
    private final long[] chunkEnd;
    private final MappedByteBuffer[] chunks;
    private int mappingsMade;
    private boolean closed;

    /**
     * @param regions {start, length} pairs, absolute file offsets; they may overlap (shared storages)
     */
    MappedRegions(Path file, FileChannel channel, List<long[]> regions, long maxChunk) {
        this.file = file;
        this.channel = channel;
        List<long[]> sorted = new ArrayList<>();
        for (long[] r : regions) {
            if (r[1] > 0 && r[1] <= maxChunk) {
                sorted.add(r);
            }
        }
        sorted.sort(Comparator.comparingLong((long[] r) -> r[0]));
        List<long[]> out = new ArrayList<>();
        long cs = -1;
        long ce = -1;
        for (long[] r : sorted) {
            long end = r[0] + r[1];
            if (cs >= 0 && end - cs <= maxChunk) {
                ce = Math.max(ce, end);
            } else {
                if (cs >= 0) {
                    out.add(new long[] {cs, ce});
                }
                cs = r[0];
                ce = end;
            }
        }
        if (cs >= 0) {
            out.add(new long[] {cs, ce});
        }
        chunkStart = new long[out.size()];
        chunkEnd = new long[out.size()];
        for (int i = 0; i < out.size(); i++) {
            chunkStart[i] = out.get(i)[0];
            chunkEnd[i] = out.get(i)[1];
        }
        chunks = new MappedByteBuffer[out.size()];
    }

    MappedRegions(Path file, FileChannel channel, List<long[]> regions) {
        this(file, channel, regions, DEFAULT_MAX_CHUNK);
    }

    /** Number of chunks the known regions were grouped into. */
    int chunkCount() {
        return chunks.length;
    }

    /** Number of mappings created so far (chunks and single regions). */
    synchronized int mappingsMade() {
        return mappingsMade;
    }

    /**
     * A little-endian read-only view of {@code length} bytes at absolute offset {@code start}; no copy.
     *
     * @param what names the tensor for error messages
     */
    synchronized ByteBuffer slice(long start, long length, String what) {
        if (closed) {
            throw new WeightsException(file + " is closed (reading " + what + ")");
        }
        if (length == 0) {
            return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        if (length > MAX_BUFFER) {
            throw new WeightsException(what + " in " + file + " is " + length + " bytes; a single tensor over 2 GiB "
                    + "cannot be held in one ByteBuffer");
        }
        int i = findChunk(start);
        try {
            if (i >= 0 && start + length <= chunkEnd[i]) {
                if (chunks[i] == null) {
                    chunks[i] = channel.map(FileChannel.MapMode.READ_ONLY, chunkStart[i], chunkEnd[i] - chunkStart[i]);
                    mappingsMade++;
                }
                return chunks[i].slice((int) (start - chunkStart[i]), (int) length).order(ByteOrder.LITTLE_ENDIAN);
            }
            mappingsMade++;
            return channel.map(FileChannel.MapMode.READ_ONLY, start, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new WeightsException("cannot memory-map " + what + " in " + file + ": " + e, e);
        }
    }

    /**
     * Reads {@code length} bytes at {@code start} into {@code target} with file reads, not through the mapping: the
     * page cache holds them either way, but only a mapping's touched pages count in this process's resident memory.
     */
    synchronized void read(long start, long length, ByteBuffer target, String what) {
        if (closed) {
            throw new WeightsException(file + " is closed (reading " + what + ")");
        }
        if (target.remaining() < length) {
            throw new IllegalArgumentException(what + " is " + length + " bytes; the buffer has room for " + target.remaining());
        }
        ByteBuffer window = target.slice();
        window.limit((int) length);
        try {
            long at = start;
            while (window.hasRemaining()) {
                int n = channel.read(window, at);
                if (n < 0) {
                    throw new WeightsException(file + " ends before " + what + " does (truncated file?)");
                }
                at += n;
            }
        } catch (IOException e) {
            throw new WeightsException("cannot read " + what + " in " + file + ": " + e, e);
        }
        target.position(target.position() + (int) length);
    }

    private int findChunk(long start) {
        int lo = 0;
        int hi = chunkStart.length - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (chunkStart[mid] <= start) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
        java.util.Arrays.fill(chunks, null);
    }
}
