package org.emovit.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.emovit.batch.BatchClassifier;
import org.emovit.core.AtomicFiles;

/**
 * Where {@code classify --heatmap DIR} puts each image's overlay: {@code DIR/<name>.<hash>.heatmap.png}, named from the
 * key the results file gives the image (its path as given): the file name without its extension, for people, and
 * the first 16 hex digits of the key's SHA-256, so that two images never share a file — within a run or across a
 * run and its resumption (a/x.jpg and b/x.jpg get two names whichever run sees them). The suffix keeps an overlay
 * from replacing an input image when DIR is the images' own folder. Each file carries its key (a PNG text entry),
 * so a resumed run can tell a map that is there and is this image's from one that is missing or another's.
 */
final class HeatmapFiles {
    /** The PNG text entry naming the image a map belongs to. */
    static final String KEY_ENTRY = "emovit-image";

    private final Path dir;

    HeatmapFiles(Path dir) {
        this.dir = dir;
    }

    /** Draws the overlay of this image's map into its file (whole or not at all) and returns the file. */
    Path write(String key, BatchClassifier.Heatmap heatmap) throws IOException {
        Path file = file(key);
        AtomicFiles.write(file, PngText.with(heatmap.map().overlayPng(heatmap.image()), KEY_ENTRY, key));
        return file;
    }

    /** True when {@code overlay} (a results line's) is this key's file, and it is there and says it is this key's. */
    boolean holds(String key, String overlay) throws IOException {
        Path file = file(key);
        return overlay != null && Path.of(overlay).equals(file) && PngText.read(file, KEY_ENTRY).filter(key::equals).isPresent();
    }

    /** The file of the image with this key. */
    Path file(String key) {
        return dir.resolve(stem(key) + "." + hash(key) + ".heatmap.png");
    }

    private static String stem(String key) {
        Path name = Path.of(key).getFileName();
        String s = name == null ? "image" : name.toString();
        int dot = s.lastIndexOf('.');
        return dot > 0 ? s.substring(0, dot) : s;
    }

    private static String hash(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JVM", e);
        }
    }
}
