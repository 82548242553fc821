package org.emovit.weights;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import org.emovit.core.AtomicFiles;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file the way the reference writer lays it out (data 8-byte aligned, metadata sorted),
 * so the same tensors give the same bytes, and never leaves a half-written file under the target name.
 */
final class SafetensorsWriter {

    private SafetensorsWriter() {
    }

    /**
     * Writes {@code tensors} (in map order) and {@code metadata} (may be null or empty) to {@code file}: the
     * data goes to a temporary file in the same folder, which is then renamed over {@code file} (atomically
     * where the file system allows).
     */
    static void write(Path file, Map<String, RawTensor> tensors, Map<String, String> metadata) {
        ObjectNode header = WeightFiles.JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new java.util.TreeMap<>(metadata).forEach(meta::put);   // sorted: the same tensors give the same bytes
        }
        long offset = 0;
        List<RawTensor> order = new ArrayList<>(tensors.size());
        for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
            String key = e.getKey();
            RawTensor t = e.getValue();
            if (key == null || t == null) {
                throw new IllegalArgumentException("null key or tensor in tensors to write to " + file);
            }
            if (key.equals("__metadata__")) {
                throw new IllegalArgumentException("'__metadata__' cannot be a tensor name (writing " + file + ")");
            }
            ObjectNode entry = header.putObject(key);
            entry.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long end = offset + t.nbytes();
            entry.putArray("data_offsets").add(offset).add(end);
            offset = end;
            order.add(t);
        }
        byte[] json;
        try {
            json = WeightFiles.JSON.writeValueAsBytes(header);
        } catch (IOException e) {
            throw new WeightsException("cannot encode the safetensors header for " + file + ": " + e, e);
        }
        int padded = (json.length + 7) / 8 * 8; // the data starts 8-byte aligned, as the reference writer does
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        Path target = file.toAbsolutePath();
        Path tmp = null;
        try {
            tmp = OutputFiles.temporaryBeside(target);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                writeFully(ch, head);
                for (RawTensor t : order) {
                    writeFully(ch, t.data());
                }
                ch.force(true);
            }
            AtomicFiles.moveIntoPlace(tmp, target);
            tmp = null;
        } catch (IOException e) {
            throw new WeightsException("cannot write " + file + ": " + e, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
