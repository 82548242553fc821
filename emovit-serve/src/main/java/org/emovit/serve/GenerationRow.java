package org.emovit.serve;

import java.util.List;
import java.util.function.Function;

/**
 * One request's row in a batched generation: collects its tokens, applies its own token limit and stop sequences,
 * and passes the text on as it becomes final. The text is re-decoded from all tokens at each step (a token may
 * complete a character begun by the one before), so a trailing U+FFFD and any suffix that could still grow into a
 * stop sequence are held back until the next token decides them. Used only on the model's thread.
 */
final class GenerationRow {
    private final int maxTokens;
    private final List<String> stops;
    private final long eosId;
    private final Function<long[], String> decoder;
    private final TokenSink sink;
    private final long deadlineNanos;

    private int count;   // tokens produced (the batch keeps them: DecodingBatch.tokens)
    private String text = "";
    private String sent = "";
    private String finishReason;

    GenerationRow(int maxTokens, List<String> stops, long eosId, Function<long[], String> decoder, TokenSink sink, long deadlineNanos) {
        this.maxTokens = maxTokens;
        this.stops = stops;
        this.eosId = eosId;
        this.decoder = decoder;
        this.sink = sink;
        this.deadlineNanos = deadlineNanos;
    }

    int maxTokens() {
        return maxTokens;
    }

    /** The row's tokens so far, the newest last (as the decoding batch holds them). */
    void accept(long[] produced) {
        if (finishReason != null || produced.length == 0) {
            return;
        }
        count = produced.length;
        long token = produced[count - 1];
        text = decoder.apply(produced);
        if (token == eosId) {
            finishReason = "stop";
        }
        int cut = earliestStop();
        if (cut >= 0) {
            text = text.substring(0, cut);
            finishReason = "stop";
        }
        if (finishReason == null && count >= maxTokens) {
            finishReason = "length";
        }
        emit(finishReason != null ? text.length() : stableLength());
    }

    /** Whether the row is done: it ended, its client left, or its deadline passed. */
    boolean finished() {
        if (finishReason == null && sink.cancelled()) {
            finishReason = "cancelled";
        }
        if (finishReason == null && System.nanoTime() - deadlineNanos > 0) {
            finishReason = "length";
        }
        return finishReason != null;
    }

    Generation result(int promptTokens) {
        if (finishReason == null) {
            finishReason = "length";
        }
        emit(text.length());
        return new Generation(text, promptTokens, count, finishReason);
    }

    private int earliestStop() {
        int best = -1;
        for (String s : stops) {
            int i = text.indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }

    private int stableLength() {
        int n = text.length();
        while (n > 0 && text.charAt(n - 1) == '\uFFFD') {
            n--;
        }
        int hold = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, n); k > hold; k--) {
                if (text.regionMatches(n - k, s, 0, k)) {
                    hold = k;
                    break;
                }
            }
        }
        return n - hold;
    }

    private void emit(int upTo) {
        if (upTo > sent.length() && text.startsWith(sent)) {
            String delta = text.substring(sent.length(), upTo);
            sent = text.substring(0, upTo);
            sink.onText(delta);
        }
    }
}
