package org.emovit.weights;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the weight readers share: opening and reading a file with errors that name it, the strict JSON mapper
 * (a duplicated key in a header is an error, not a silent "last one wins"), and the hint listing some keys
 * when a tensor is missing.
 */
final class WeightFiles {

    static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private WeightFiles() {
    }

    static void readFully(FileChannel ch, ByteBuffer b, long position, Path file, String what) {
        try {
            long pos = position;
            while (b.hasRemaining()) {
                int n = ch.read(b, pos);
                if (n < 0) {
                    throw new WeightsException(file + " is truncated: end of file while reading " + what);
                }
                pos += n;
            }
            b.flip();
        } catch (IOException e) {
            throw new WeightsException("cannot read " + what + " of " + file + ": " + e, e);
        }
    }

    static FileChannel openChannel(Path file) {
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new WeightsException(file + " does not exist", e);
        } catch (IOException e) {
            throw new WeightsException("cannot open " + file + ": " + e, e);
        }
    }

    static String sampleKeys(Set<String> keys, String wanted) {
        String tail = wanted.contains(".") ? wanted.substring(wanted.lastIndexOf('.')) : wanted;
        List<String> similar = keys.stream().filter(k -> k.endsWith(tail)).limit(5).collect(Collectors.toList());
        if (similar.isEmpty()) {
            similar = keys.stream().limit(5).collect(Collectors.toList());
        }
        return keys.size() + " tensors, e.g. " + similar;
    }
}
