package org.emovit.serve;

import org.emovit.api.EmoVit;
import org.emovit.attribution.PatchMap;

/**
 * A classified image: EmoVit's result, its explanation when one was asked for (else null), and its heat map when
 * one was asked for and there was an emotion to map (else null).
 */
public record Classification(EmoVit.Result result, String explanation, PatchMap heatmap) {}
