package org.emovit.eval;

import java.util.List;

/** A labelled evaluation set: its images, and the entries skipped while reading it (with reasons). */
public record LabelledDataset(String name, List<LabelledImage> items, List<String> problems) {}
