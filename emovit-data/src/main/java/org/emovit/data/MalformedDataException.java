package org.emovit.data;

import java.io.IOException;

/** A data file that exists but cannot be used (bad JSON, wrong shape, missing field). The message names the file. */
public class MalformedDataException extends IOException {
    private static final long serialVersionUID = 1L;

    public MalformedDataException(String message) {
        super(message);
    }

    public MalformedDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
