package org.emovit.serve;

/** Where a generation's text goes as it grows (a stream to a client, or nowhere), and whether anyone still listens. */
public interface TokenSink {
    /** New text, in order; called on the model's thread, so implementations hand it off and return at once. */
    void onText(String delta);

    /** True once the client has gone away: its row leaves the batch at the next token. */
    boolean cancelled();

    TokenSink NONE = new TokenSink() {
        @Override
        public void onText(String delta) {
        }

        @Override
        public boolean cancelled() {
            return false;
        }
    };
}
