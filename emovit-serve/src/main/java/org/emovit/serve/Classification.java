package org.emovit.serve;

import org.emovit.api.EmoVit;

/** A classified image: EmoVit's result, and its explanation when one was asked for (else null). */
public record Classification(EmoVit.Result result, String explanation) {}
