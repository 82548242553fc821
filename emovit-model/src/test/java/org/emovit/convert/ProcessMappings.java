package org.emovit.convert;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** This process's memory mappings of one file, from /proc/self/maps (Linux). */
final class ProcessMappings {
    private ProcessMappings() {}

    /** {start, end} address ranges mapping {@code file}. */
    static List<long[]> of(Path file) {
        String name;
        List<String> lines;
        try {
            name = file.toRealPath().toString();
            lines = Files.readAllLines(Path.of("/proc/self/maps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<long[]> out = new ArrayList<>();
        for (String line : lines) {
            if (line.endsWith(" " + name)) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                out.add(new long[] {Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16)});
            }
        }
        return out;
    }
}
