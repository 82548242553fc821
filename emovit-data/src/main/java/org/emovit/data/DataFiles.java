package org.emovit.data;

import org.emovit.core.AtomicFiles;
import org.emovit.core.JsonlFile;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The data stages' writes, with failures that say what is wrong. The JDK reports a folder that is not writable
 * as a bare path ({@code /w/caption/awe/.x.txt.123.1.tmp (Permission denied)}, naming a temporary file the user
 * never asked for); these name the file that was to be written and the folder that refused it.
 */
public final class DataFiles {
    private DataFiles() {
    }

    /** {@link AtomicFiles#write}, explained on failure. */
    public static void write(Path target, byte[] bytes) throws IOException {
        try {
            AtomicFiles.write(target, bytes);
        } catch (IOException e) {
            throw explain(e, target);
        }
    }

    public static void writeString(Path target, String text) throws IOException {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** {@link JsonlFile#open}, explained on failure. */
    public static JsonlFile openJsonl(Path path) throws IOException {
        try {
            return JsonlFile.open(path);
        } catch (IOException e) {
            throw explain(e, path);
        }
    }

    /** {@link Files#createDirectories}, explained on failure. */
    public static void createDirectories(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException(dir + " is a file, not a folder");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw explain(e, dir);
        }
    }

    /**
     * Why a file that exists cannot be read, or null when it can: checked before an image is decoded, because
     * ImageIO reports an unreadable file as "Can't create cache file!".
     */
    public static String unreadable(Path file) {
        return Files.exists(file) && !Files.isReadable(file) ? "not readable (permission denied)" : null;
    }

    /**
     * A write failure of {@code target} as one line: when a folder on the way is not writable (or a file is
     * read-only), says which; any other failure is returned as it was.
     */
    public static IOException explain(IOException e, Path target) {
        // FileNotFoundException: java.io's "permission denied"; FileSystemException: NIO's (AccessDenied, Not a directory)
        if (!(e instanceof FileNotFoundException || e instanceof FileSystemException)) {
            return e;
        }
        Path abs = target.toAbsolutePath();
        // the nearest folder that exists is the one that refused to hold the new file (an atomic write creates a
        // temporary file beside the target, so the folder matters even when the file exists)
        for (Path p = abs.getParent(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p)) {
                if (!Files.isWritable(p)) {
                    return new IOException("cannot write " + target + ": the folder " + p + " is not writable", e);
                }
                break;
            }
            if (Files.exists(p)) {
                return new IOException("cannot write " + target + ": " + p + " is a file, not a folder", e);
            }
        }
        if (Files.isRegularFile(abs) && !Files.isWritable(abs)) {
            return new IOException("cannot write " + target + ": the file is read-only", e);
        }
        return e;
    }
}
