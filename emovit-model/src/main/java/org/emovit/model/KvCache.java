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
public final class KvCache implements AutoCloseable {
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
        keys[layer] = Ops.replaceOwned(keys[layer], keys[layer] == null ? k : Ops.cat(2, keys[layer], k));
        values[layer] = Ops.replaceOwned(values[layer], values[layer] == null ? v : Ops.cat(2, values[layer], v));
        return new Tensor[] {keys[layer], values[layer]};
    }

    Tensor keyMask() {
        return keyMask;
    }

    void keyMask(Tensor mask) {
        keyMask = Ops.replaceOwned(keyMask, mask);
    }

    /** Keeps the given rows, in the given order (beam search follows its surviving beams). */
    public void selectRows(Tensor rows) {
        for (int i = 0; i < keys.length; i++) {
            keys[i] = Ops.replaceOwned(keys[i], keys[i].index_select(0, rows));
            values[i] = Ops.replaceOwned(values[i], values[i].index_select(0, rows));
        }
        keyMask = Ops.replaceOwned(keyMask, keyMask.index_select(0, rows));
    }

    /**
     * Appends the rows of another cache after this one's, and frees the other: rows that joined a running batch
     * (continuous batching). The shorter side is padded on the left in the sequence dimension with zero keys and
     * values masked out (0 in the key mask), so every row keeps its own keys at its own positions; a masked key
     * gets an attention weight of exactly 0, so the padding changes no row's attention.
     */
    public void appendRows(KvCache other) {
        if (keyMask == null) {
            for (int i = 0; i < keys.length; i++) {
                keys[i] = other.keys[i];
                values[i] = other.values[i];
                other.keys[i] = null;
                other.values[i] = null;
            }
            keyMask = other.keyMask;
            other.keyMask = null;
            return;
        }
        long length = Math.max(length(), other.length());
        for (int i = 0; i < keys.length; i++) {
            keys[i] = Ops.replaceOwned(keys[i], Ops.cat(0, padLeft(keys[i], 2, length), padLeft(other.keys[i], 2, length)));
            values[i] = Ops.replaceOwned(values[i], Ops.cat(0, padLeft(values[i], 2, length), padLeft(other.values[i], 2, length)));
        }
        keyMask = Ops.replaceOwned(keyMask, Ops.cat(0, padLeft(keyMask, 1, length), padLeft(other.keyMask, 1, length)));
        other.close();
    }

    /** x with zeros before it along dim, to the given length (x itself when already that long). */
    private static Tensor padLeft(Tensor x, int dim, long length) {
        long missing = length - x.size(dim);
        if (missing == 0) {
            return x;
        }
        long[] shape = new long[(int) x.dim()];
        for (int d = 0; d < shape.length; d++) {
            shape[d] = d == dim ? missing : x.size(d);
        }
        return Ops.cat(dim, torch.zeros(shape, Tensors.options(x.scalar_type(), x.device())), x);
    }

    /** A new cache with every batch row repeated n times (a prompt's cache shared by n continuations). */
    public KvCache expandBatch(long n) {
        KvCache out = new KvCache(keys.length);
        for (int i = 0; i < keys.length; i++) {
            out.keys[i] = Ops.own(keys[i].repeat_interleave(n, new LongOptional(0), new LongOptional()));
            out.values[i] = Ops.own(values[i].repeat_interleave(n, new LongOptional(0), new LongOptional()));
        }
        out.keyMask = Ops.own(keyMask.repeat_interleave(n, new LongOptional(0), new LongOptional()));
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
