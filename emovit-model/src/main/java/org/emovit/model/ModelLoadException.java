package org.emovit.model;

/** A checkpoint or config that does not fit the model; the message names the file and the key. */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
