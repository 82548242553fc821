package org.emovit.attribution;

import java.util.function.Supplier;

/**
 * One heat map computed in pieces, so that its caller can run other work between two of them: the server decodes a
 * token for its running streams between two pieces of a map, so a stream waits for one piece rather than a whole
 * map. A pass holds native memory from its first piece until it is closed; not thread-safe, like the model.
 */
public interface MapPass extends AutoCloseable {

    /** Runs the next piece; returns true once the map is ready (and from then on without running anything). */
    boolean advance();

    /** The map, once {@link #advance()} has returned true. */
    PatchMap map();

    /** The time the pieces run so far have taken, in nanoseconds: the whole map's once it is ready. */
    long nanos();

    /** Frees what the pass holds; a pass closed before it is done gives no map. */
    @Override
    void close();

    /** Runs every piece of the pass, closes it and returns its map. */
    static PatchMap run(MapPass pass) {
        try (pass) {
            while (!pass.advance()) {
                // the next piece
            }
            return pass.map();
        }
    }

    /** A map computed in one piece (the gradient-free rollout). */
    static MapPass whole(Supplier<PatchMap> compute) {
        return new MapPass() {
            private PatchMap map;
            private long nanos;

            @Override
            public boolean advance() {
                if (map == null) {
                    long start = System.nanoTime();
                    map = compute.get();
                    nanos = System.nanoTime() - start;
                }
                return true;
            }

            @Override
            public PatchMap map() {
                if (map == null) {
                    throw new IllegalStateException("the map is not computed yet");
                }
                return map;
            }

            @Override
            public long nanos() {
                return nanos;
            }

            @Override
            public void close() {
                // nothing native is held between pieces
            }
        };
    }
}
