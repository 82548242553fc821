package org.emovit.spark;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * A partition processed a batch at a time, lazily: Spark pulls output rows while the next batch is still unread,
 * so a partition never has to fit in memory and its rows stream into the writer.
 */
final class Batches<I, O> implements Iterator<O> {
    private final Iterator<I> input;
    private final int size;
    private final Function<List<I>, List<O>> process;
    private Iterator<O> current = Collections.emptyIterator();

    Batches(Iterator<I> input, int size, Function<List<I>, List<O>> process) {
        if (size < 1) {
            throw new IllegalArgumentException("--batch-size must be at least 1");
        }
        this.input = input;
        this.size = size;
        this.process = process;
    }

    @Override
    public boolean hasNext() {
        while (!current.hasNext() && input.hasNext()) {
            List<I> batch = new ArrayList<>(size);
            while (batch.size() < size && input.hasNext()) {
                batch.add(input.next());
            }
            current = process.apply(batch).iterator();
        }
        return current.hasNext();
    }

    @Override
    public O next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return current.next();
    }
}
