package org.emovit.train;

import java.nio.file.Path;

/** One training sample: an image and one question/answer pair about it (one LLaVA-style record of all.json). */
public record TrainingSample(String id, Path image, String question, String answer) {}
