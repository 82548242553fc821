package org.emovit.data;

import org.emovit.core.Emotion;

/**
 * One {@code [emotion, image path, annotation path]} triple of an EmoSet split list.
 *
 * @param emotion        the class
 * @param imagePath      the image path as written in the list, relative to the EmoSet root
 * @param annotationPath the annotation path as written in the list, relative to the EmoSet root
 * @param name           the image name without folder and extension ({@code amusement_00012}); the seed takes
 *                       {@code item[1].split('/')[2][:-4]}, which is the same for EmoSet's {@code .jpg} files
 * @param index          the position of this entry among its class's entries, in list order (the seed's index)
 */
public record SplitEntry(Emotion emotion, String imagePath, String annotationPath, String name, int index) {

    /** The 5-character id the seed uses ({@code name[-5:]}). */
    public String id() {
        return name.length() <= 5 ? name : name.substring(name.length() - 5);
    }

    /** The image file name ({@code amusement_00012.jpg}). */
    public String imageFileName() {
        int slash = imagePath.lastIndexOf('/');
        return slash < 0 ? imagePath : imagePath.substring(slash + 1);
    }

    /** {@code <emotion>/<name>}: the key used in run files. */
    public String key() {
        return emotion.label() + "/" + name;
    }

    /** The image name of a path: the last segment without its extension. */
    public static String nameOf(String path) {
        String last = path.substring(path.lastIndexOf('/') + 1);
        int dot = last.lastIndexOf('.');
        return dot > 0 ? last.substring(0, dot) : last;
    }
}
