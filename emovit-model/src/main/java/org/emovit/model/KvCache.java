package org.emovit.model;

import org.bytedeco.pytorch.Tensor;

/**
 * Keys and values of every decoder layer for the positions seen so far ([B, kvHeads, S, headDim] each), and
 * the 0/1 key mask over those positions, so decoding one more token costs one token's work.
 */
public final class KvCache {
    private final Tensor[] keys;
    private final Tensor[] values;
    private Tensor keyMask;

    public KvCache(int layers) {
        keys = new Tensor[layers];
        values = new Tensor[layers];
    }

    public long length() {
        return keys[0] == null ? 0 : keys[0].size(2);
    }

    /** Appends this step's keys/values for a layer and returns the full ones. */
    Tensor[] append(int layer, Tensor k, Tensor v) {
        if (keys[layer] != null) {
            k = Ops.cat(2, keys[layer], k);
            v = Ops.cat(2, values[layer], v);
        }
        keys[layer] = k;
        values[layer] = v;
        return new Tensor[] {k, v};
    }

    Tensor keyMask() {
        return keyMask;
    }

    void keyMask(Tensor mask) {
        keyMask = mask;
    }

    /** Keeps the given rows, in the given order (beam search follows its surviving beams). */
    public void selectRows(Tensor rows) {
        for (int i = 0; i < keys.length; i++) {
            keys[i] = keys[i].index_select(0, rows);
            values[i] = values[i].index_select(0, rows);
        }
        keyMask = keyMask.index_select(0, rows);
    }

    /** Repeats every batch row n times (a prompt's cache shared by n continuations, e.g. n candidate answers). */
    public KvCache expandBatch(long n) {
        KvCache out = new KvCache(keys.length);
        for (int i = 0; i < keys.length; i++) {
            out.keys[i] = keys[i].repeat_interleave(n, new org.bytedeco.pytorch.LongOptional(0), new org.bytedeco.pytorch.LongOptional());
            out.values[i] = values[i].repeat_interleave(n, new org.bytedeco.pytorch.LongOptional(0), new org.bytedeco.pytorch.LongOptional());
        }
        out.keyMask = keyMask.repeat_interleave(n, new org.bytedeco.pytorch.LongOptional(0), new org.bytedeco.pytorch.LongOptional());
        return out;
    }
}
