package org.emovit.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.emovit.core.JsonlFile;
import org.emovit.core.ResultsFile;

/**
 * predictions.jsonl: the {@link ResultsFile} of an evaluation, one {@link Prediction} per image keyed by its id.
 * A stopped run resumes where it stopped; failed images are tried again; predictions of another model or
 * dataset are never mixed in.
 */
public final class PredictionsFile implements AutoCloseable {
    private final ResultsFile file;

    private PredictionsFile(ResultsFile file) {
        this.file = file;
    }

    /** A file whose provenance is not checked (tests, one-off tools). */
    public static PredictionsFile open(Path file) {
        return open(file, Map.of(), false);
    }

    /** @see ResultsFile#open */
    public static PredictionsFile open(Path file, Map<String, String> provenance, boolean fresh) {
        try {
            return new PredictionsFile(ResultsFile.open(file, "id", provenance, fresh));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open predictions file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Ids predicted without error (failed ones are tried again). */
    public Set<String> done() {
        return file.done();
    }

    /** One prediction per image. */
    public List<Prediction> all() {
        List<Prediction> out = new ArrayList<>();
        for (JsonNode n : file.records()) {
            try {
                out.add(JsonlFile.mapper().treeToValue(n, Prediction.class));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(file.path() + ": unreadable prediction " + n + ": " + e.getOriginalMessage(), e);
            }
        }
        return out;
    }

    public void append(Prediction p) {
        try {
            file.append(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file.path() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file.path() + ": " + e.getMessage(), e);
        }
    }
}
