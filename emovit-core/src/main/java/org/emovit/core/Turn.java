package org.emovit.core;

/** One message of a record's {@code conversations}: {@code from} is {@code human} or {@code gpt}. */
public record Turn(String from, String value) {
    public static Turn human(String v) {
        return new Turn("human", v);
    }

    public static Turn gpt(String v) {
        return new Turn("gpt", v);
    }
}
