package org.emovit.serve;

/** A chat completion request body, written by hand (what any HTTP client would send). */
final class ChatRequestJson {
    private ChatRequestJson() {}

    static String of(String sample, int maxTokens, boolean stream) {
        return "{\"model\":\"emovit\",\"max_tokens\":" + maxTokens + ",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Describe the mood.\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + Fixtures.dataUrl(sample) + "\"}}]}]}";
    }
}
