package org.emovit.model;

import org.bytedeco.pytorch.Tensor;

/**
 * What a decoder's self-attention needs from the keys and values of earlier positions. Two layouts implement it:
 * {@link KvCache}, one contiguous tensor per layer grown by concatenation (a prompt, beam search, scoring), and
 * {@link RowSlotCache}, a slot per running row (continuous batching, where rows join and leave between tokens).
 */
public interface AttentionCache {

    /** Key positions already held (the longest row's, for a cache whose rows differ in length). */
    long length();

    /**
     * Records the 0/1 key mask of this forward's new positions ([B, T]) and returns the mask over every key that
     * attention will see ([B, K]); called once per forward, before the layers {@link #append}.
     */
    Tensor appendKeyMask(Tensor newPositions);

    /** Stores a layer's keys and values of the new positions ([B, H, T, D]) and returns those attention reads. */
    Tensor[] append(int layer, Tensor k, Tensor v);
}
