package org.emovit.model;

import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The KV cache of a continuous batch: one slot per running row in preallocated per-layer buffers
 * ([slots, kvHeads, columns, headDim]), each row's keys from column 0 up to its own length, the rest masked out.
 * <ul>
 *   <li>A decoding step writes each row's new key and value in place at that row's column (no copy of the cache,
 *   which concatenation made at every step).</li>
 *   <li>A joining row is copied into a free slot, only its real (unpadded) positions: the running rows' cache is
 *   not touched while the buffers have room; room grows by doubling the slots or by {@link #COLUMN_CHUNK} columns,
 *   so a copy of the running rows happens a logarithmic number of times (slots) or once per chunk of steps.</li>
 *   <li>A leaving row's slot is filled by the last row's (one row copied, not the batch), and the buffers shrink
 *   when they are mostly empty: their size follows the rows running, not the time since the batch began, and the
 *   last row leaving frees them.</li>
 * </ul>
 * Attention reads the live slots over every column (a contiguous view: libtorch's CPU matmul copies a strided one
 * first), with the columns past a row's length masked; at most {@link #COLUMN_CHUNK} + a shrink's margin of masked
 * columns are read per row. Only single-position forwards (decoding steps) are taken: prompts are prefilled into a
 * {@link KvCache} and added with {@link #addRows}. The cache owns its tensors; close() frees them.
 */
public final class RowSlotCache implements AttentionCache, AutoCloseable {
    /** Columns are added (and dropped) in chunks of this many positions. */
    public static final long COLUMN_CHUNK = 64;

    private final int layers;
    private Tensor[] keys;       // [slots, kvHeads, columns, headDim] per layer (owned), null while empty
    private Tensor[] values;
    private Tensor mask;         // [slots, columns] 0/1 (Long), owned
    private long[] lengths = new long[0];   // per live slot: positions held
    private int rows;            // live slots: 0 .. rows-1
    private Tensor writeAt;      // [rows] the column each row's new position goes to in this forward (owned)
    private Tensor writeIndex;   // writeAt expanded to [rows, kvHeads, 1, headDim]: scatter_'s index, made once per forward

    public RowSlotCache(int layers) {
        this.layers = layers;
    }

    /** Rows held. */
    public int rows() {
        return rows;
    }

    /** Positions of the longest row: no row sees a column past it. */
    @Override
    public long length() {
        long max = 0;
        for (int r = 0; r < rows; r++) {
            max = Math.max(max, lengths[r]);
        }
        return max;
    }

    /** Positions a row holds. */
    public long length(int slot) {
        return lengths[slot];
    }

    /** Bytes of the buffers (keys, values and mask), 0 when no row runs. */
    public long bytes() {
        if (keys == null) {
            return 0;
        }
        long b = mask.nbytes();
        for (int l = 0; l < layers; l++) {
            b += keys[l].nbytes() + values[l].nbytes();
        }
        return b;
    }

    /** Slots allocated (rows the buffers can hold without growing). */
    public long slotCapacity() {
        return keys == null ? 0 : keys[0].size(0);
    }

    /** Columns allocated. */
    public long columnCapacity() {
        return keys == null ? 0 : keys[0].size(2);
    }

    /**
     * What a native decoding step writes and reads, after {@link #appendKeyMask} (which may reallocate): per layer the
     * key and value buffers' addresses, int64 [layers, 2] (the caller frees it; the buffers stay the cache's).
     */
    Tensor bufferAddresses() {
        long[] a = new long[2 * layers];
        for (int l = 0; l < layers; l++) {
            a[2 * l] = keys[l].data_ptr().address();
            a[2 * l + 1] = values[l].data_ptr().address();
        }
        return Tensors.fromLongs(a, layers, 2);
    }

    /** The 0/1 mask's address, int64 [slots, columns] (see {@link #bufferAddresses}). */
    long maskAddress() {
        return mask.data_ptr().address();
    }

    /** The column each row's new position goes to in this forward, int64 [rows] (see {@link #bufferAddresses}). */
    long writeColumnsAddress() {
        return writeAt.data_ptr().address();
    }

    /** The buffers' dtype (the model's). */
    ScalarType dtype() {
        return keys[0].scalar_type().intern();
    }

    /** A layer's key buffer (for tests that check what a join copies); null while empty. */
    public Tensor keyBuffer(int layer) {
        return keys == null ? null : keys[layer];
    }

    /**
     * Adds the rows of a prefilled cache after the live ones, each with only its unmasked positions (a prompt's
     * left padding is dropped; rotary positions are already in the keys). The other cache stays the caller's.
     */
    public void addRows(KvCache prompt) {
        try (PointerScope scope = new PointerScope()) {
            Tensor promptMask = prompt.keyMask().to(ScalarType.Long);
            int n = (int) promptMask.size(0);
            long[] counts = Tensors.toLongs(promptMask.sum(1));
            long longest = Arrays.stream(counts).max().orElse(0);
            reserve(rows + n, Math.max(length(), longest), prompt.keys(0));
            for (int j = 0; j < n; j++) {
                int slot = rows + j;
                Tensor real = promptMask.select(0, j).nonzero().view(-1);   // the row's unpadded columns
                for (int l = 0; l < layers; l++) {
                    keys[l].select(0, slot).narrow(1, 0, counts[j]).copy_(prompt.keys(l).select(0, j).index_select(1, real));
                    values[l].select(0, slot).narrow(1, 0, counts[j]).copy_(prompt.values(l).select(0, j).index_select(1, real));
                }
                Tensor m = mask.select(0, slot);
                m.zero_();
                m.narrow(0, 0, counts[j]).fill_(new Scalar(1));
                lengths[slot] = counts[j];
            }
            rows += n;
        }
    }

    @Override
    public Tensor appendKeyMask(Tensor newPositions) {
        if (newPositions.size(0) != rows || newPositions.size(1) != 1) {
            throw new IllegalArgumentException("a row slot cache takes one new position for each of its " + rows
                    + " rows, not " + newPositions.size(0) + " x " + newPositions.size(1));
        }
        reserve(rows, length() + 1, keys[0]);
        writeAt = Owned.replaceOwned(writeAt, Tensors.fromLongs(Arrays.copyOf(lengths, rows), rows).to(mask.device(), ScalarType.Long));
        writeIndex = Owned.replaceOwned(writeIndex, writeAt.view(rows, 1, 1, 1).expand(new long[] {rows, keys[0].size(1), 1, keys[0].size(3)}));
        Tensor live = mask.narrow(0, 0, rows);
        live.scatter_(1, writeAt.view(rows, 1), newPositions.to(ScalarType.Long));
        for (int r = 0; r < rows; r++) {
            lengths[r]++;
        }
        return live;
    }

    @Override
    public Tensor[] append(int layer, Tensor k, Tensor v) {
        Tensor liveKeys = keys[layer].narrow(0, 0, rows);
        Tensor liveValues = values[layer].narrow(0, 0, rows);
        liveKeys.scatter_(2, writeIndex, k);
        liveValues.scatter_(2, writeIndex, v);
        return new Tensor[] {liveKeys, liveValues};
    }

    /**
     * Removes a row: the last live row moves into its slot (one row copied).
     *
     * @return the slot that moved into {@code slot}, or -1 when the removed row was the last
     */
    public int removeRow(int slot) {
        int last = rows - 1;
        int moved = -1;
        if (slot != last) {
            for (int l = 0; l < layers; l++) {
                keys[l].select(0, slot).copy_(keys[l].select(0, last));
                values[l].select(0, slot).copy_(values[l].select(0, last));
            }
            mask.select(0, slot).copy_(mask.select(0, last));
            lengths[slot] = lengths[last];
            moved = last;
        }
        lengths[last] = 0;
        rows = last;
        return moved;
    }

    /** Shrinks the buffers when they hold much more than the live rows need; frees them when no row is left. */
    public void trim() {
        if (rows == 0) {
            close();
            return;
        }
        long slots = slotCapacity();
        long columns = columnCapacity();
        long needed = roundUp(length() + 1, COLUMN_CHUNK);
        boolean fewerSlots = rows <= slots / 4;
        boolean fewerColumns = columns >= needed + 2 * COLUMN_CHUNK;
        if (fewerSlots || fewerColumns) {
            reallocate(fewerSlots ? slots / 2 : slots, fewerColumns ? needed : columns, keys[0]);
        }
    }

    /** Room for this many rows and columns: the buffers grow (doubling slots, whole chunks of columns) when short. */
    private void reserve(int needRows, long needColumns, Tensor like) {
        long slots = slotCapacity();
        long columns = columnCapacity();
        if (keys != null && needRows <= slots && needColumns <= columns) {
            return;
        }
        long newSlots = needRows <= slots ? slots : Math.max(needRows, 2 * slots);
        reallocate(newSlots, Math.max(columns, roundUp(needColumns, COLUMN_CHUNK)), like);
    }

    /** New buffers of this size holding the live rows (zeros elsewhere: masked keys must be finite). */
    private void reallocate(long slots, long columns, Tensor like) {
        Tensor[] k = new Tensor[layers];
        Tensor[] v = new Tensor[layers];
        long heads = like.size(1);
        long dim = like.size(3);
        for (int l = 0; l < layers; l++) {
            k[l] = Owned.own(torch.zeros(new long[] {slots, heads, columns, dim}, Tensors.options(like.scalar_type(), like.device())));
            v[l] = Owned.own(torch.zeros(new long[] {slots, heads, columns, dim}, Tensors.options(like.scalar_type(), like.device())));
        }
        Tensor m = Owned.own(torch.zeros(new long[] {slots, columns}, Tensors.options(ScalarType.Long, like.device())));
        if (keys != null && rows > 0) {
            long keep = Math.min(columns, columnCapacity());
            for (int l = 0; l < layers; l++) {
                k[l].narrow(0, 0, rows).narrow(2, 0, keep).copy_(keys[l].narrow(0, 0, rows).narrow(2, 0, keep));
                v[l].narrow(0, 0, rows).narrow(2, 0, keep).copy_(values[l].narrow(0, 0, rows).narrow(2, 0, keep));
            }
            m.narrow(0, 0, rows).narrow(1, 0, keep).copy_(mask.narrow(0, 0, rows).narrow(1, 0, keep));
        }
        int live = rows;
        long[] kept = lengths;
        freeBuffers();
        keys = k;
        values = v;
        mask = m;
        rows = live;
        lengths = Arrays.copyOf(kept, (int) slots);
    }

    private static long roundUp(long n, long chunk) {
        return Math.max(chunk, (n + chunk - 1) / chunk * chunk);
    }

    private void freeBuffers() {
        if (keys != null) {
            for (int l = 0; l < layers; l++) {
                keys[l].close();
                values[l].close();
            }
            mask.close();
        }
        keys = null;
        values = null;
        mask = null;
    }

    @Override
    public void close() {
        freeBuffers();
        Owned.free(writeIndex, writeAt);
        writeIndex = null;
        writeAt = null;
        rows = 0;
        lengths = new long[0];
    }
}
