package org.emovit.model;

import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Keys and values of every decoder layer for the positions seen so far ([B, kvHeads, S, headDim] each), and
 * the 0/1 key mask over those positions, so decoding one more token costs one token's work. The cache owns its
 * tensors (they outlive the per-layer scopes that compute them) and frees each one as soon as it is replaced;
 * close() frees the rest.
 */
public final class KvCache implements AttentionCache, AutoCloseable {
    private final Tensor[] keys;
    private final Tensor[] values;
    private Tensor keyMask;

    public KvCache(int layers) {
        keys = new Tensor[layers];
        values = new Tensor[layers];
    }

    @Override
    public long length() {
        return keys[0] == null ? 0 : keys[0].size(2);
    }

    /** Appends this step's keys/values for a layer and returns the full ones. */
    @Override
    public Tensor[] append(int layer, Tensor k, Tensor v) {
        keys[layer] = Owned.replaceOwned(keys[layer], keys[layer] == null ? k : Ops.cat(2, keys[layer], k));
        values[layer] = Owned.replaceOwned(values[layer], values[layer] == null ? v : Ops.cat(2, values[layer], v));
        return new Tensor[] {keys[layer], values[layer]};
    }

    @Override
    public Tensor appendKeyMask(Tensor newPositions) {
        keyMask = Owned.replaceOwned(keyMask, keyMask == null ? newPositions : Ops.cat(1, keyMask, newPositions));
        return keyMask;
    }

    /** A layer's keys [B, H, S, D] (the cache keeps them). */
    Tensor keys(int layer) {
        return keys[layer];
    }

    /** A layer's values [B, H, S, D] (the cache keeps them). */
    Tensor values(int layer) {
        return values[layer];
    }

    /** The 0/1 mask [B, S] of the cached positions (the cache keeps it). */
    Tensor keyMask() {
        return keyMask;
    }

    /** Keeps the given rows, in the given order (beam search follows its surviving beams). */
    public void selectRows(Tensor rows) {
        for (int i = 0; i < keys.length; i++) {
            keys[i] = Owned.replaceOwned(keys[i], keys[i].index_select(0, rows));
            values[i] = Owned.replaceOwned(values[i], values[i].index_select(0, rows));
        }
        keyMask = Owned.replaceOwned(keyMask, keyMask.index_select(0, rows));
    }

    /** A new cache with every batch row repeated n times (a prompt's cache shared by n continuations). */
    public KvCache expandBatch(long n) {
        KvCache out = new KvCache(keys.length);
        for (int i = 0; i < keys.length; i++) {
            out.keys[i] = Owned.own(keys[i].repeat_interleave(n, new LongOptional(0), new LongOptional()));
            out.values[i] = Owned.own(values[i].repeat_interleave(n, new LongOptional(0), new LongOptional()));
        }
        out.keyMask = Owned.own(keyMask.repeat_interleave(n, new LongOptional(0), new LongOptional()));
        return out;
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                keys[i].close();
                values[i].close();
                keys[i] = null;
                values[i] = null;
            }
        }
        if (keyMask != null) {
            keyMask.close();
            keyMask = null;
        }
    }
}
