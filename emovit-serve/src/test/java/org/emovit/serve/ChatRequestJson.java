package org.emovit.serve;

/** A chat completion request body, written by hand (what any HTTP client would send). */
final class ChatRequestJson {
    private ChatRequestJson() {}

    static String of(String sample, int maxTokens, boolean stream) {
        return of(sample, "Describe the mood.", maxTokens, stream);
    }

    static String of(String sample, String question, int maxTokens, boolean stream) {
        return "{\"model\":\"emovit\",\"max_tokens\":" + maxTokens + ",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"" + question + "\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + Fixtures.dataUrl(sample) + "\"}}]}]}";
    }
}
