package org.emovit.eval;

import java.nio.file.Path;
import org.emovit.core.Emotion;

/** One labelled image: its id, file, the dataset's class name and that class as one of the 8 (null when unmapped). */
public record LabelledImage(String id, Path image, String goldLabel, Emotion gold) {}
