package org.emovit.weights;

/**
 * Thrown when a weights file cannot be read: missing, truncated, corrupt, an unsupported format or
 * data type, or a tensor that is not there. The message always names the file and, where one applies,
 * the tensor key.
 */
public class WeightsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public WeightsException(String message) {
        super(message);
    }

    public WeightsException(String message, Throwable cause) {
        super(message, cause);
    }
}
