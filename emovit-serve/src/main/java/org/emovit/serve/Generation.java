package org.emovit.serve;

/**
 * A finished answer.
 *
 * @param text             the answer (cut before a stop sequence when one matched)
 * @param promptTokens     tokens of the prompt, image slots included
 * @param completionTokens tokens generated (EOS included when the model ended the answer)
 * @param finishReason     "stop" (EOS or a stop sequence), "length" (max tokens or deadline) or "cancelled" (client gone)
 */
public record Generation(String text, int promptTokens, int completionTokens, String finishReason) {}
