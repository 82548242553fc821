package org.emovit.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.emovit.api.BatchClassifier;

/**
 * Where {@code classify --heatmap DIR} puts each image's overlay: {@code DIR/<name>.heatmap.png}, the image's file name
 * without its extension. The suffix keeps an overlay from replacing an input image when DIR is the images' own
 * folder; two inputs of one name (a/x.jpg, b/x.png) get x.heatmap.png and x-2.heatmap.png, and each JSON line names
 * its own file.
 */
final class HeatmapFiles {
    private final Path dir;
    private final Set<String> taken = new HashSet<>();

    HeatmapFiles(Path dir) {
        this.dir = dir;
    }

    /** Draws the overlay of this image's map into its file and returns the file. */
    Path write(Path image, BatchClassifier.Heatmap heatmap) throws IOException {
        Path file = dir.resolve(freeName(stem(image)));
        Files.createDirectories(dir);
        heatmap.map().overlayPng(heatmap.image(), file);
        return file;
    }

    private String freeName(String stem) {
        String name = stem + ".heatmap.png";
        for (int n = 2; !taken.add(name); n++) {
            name = stem + "-" + n + ".heatmap.png";
        }
        return name;
    }

    private static String stem(Path image) {
        String name = image.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
