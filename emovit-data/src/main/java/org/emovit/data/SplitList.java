package org.emovit.data;

import org.emovit.core.Emotion;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A split list read by {@link EmoSet#split}: its usable entries in file order, and the entries that were skipped
 * with their reasons.
 */
public record SplitList(String name, List<SplitEntry> entries, List<DataIssue> issues) {

    public SplitList {
        entries = List.copyOf(entries);
        issues = List.copyOf(issues);
    }

    /** The entries of one class, in list order (entry {@code i} has {@code index() == i}). */
    public List<SplitEntry> ofClass(Emotion e) {
        return byClass().getOrDefault(e, List.of());
    }

    public Map<Emotion, List<SplitEntry>> byClass() {
        Map<Emotion, List<SplitEntry>> m = new EnumMap<>(Emotion.class);
        for (SplitEntry s : entries) {
            m.computeIfAbsent(s.emotion(), k -> new ArrayList<>()).add(s);
        }
        m.replaceAll((k, v) -> Collections.unmodifiableList(v));
        return m;
    }

    /**
     * What a selection picks, class by class (alphabetical) and index by index; an image listed twice is taken
     * once (the seed would process it twice) and noted.
     */
    public Selected select(Selection sel) {
        List<SplitEntry> out = new ArrayList<>();
        List<DataIssue> short_ = new ArrayList<>();
        Map<Emotion, List<SplitEntry>> by = byClass();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Emotion e : Emotion.values()) {
            if (!sel.classes().contains(e)) {
                continue;
            }
            List<SplitEntry> list = by.getOrDefault(e, List.of());
            int end = (int) Math.min(sel.to(), list.size());
            for (int i = sel.from(); i < end; i++) {
                SplitEntry x = list.get(i);
                if (seen.add(x.key())) {
                    out.add(x);
                } else {
                    short_.add(new DataIssue(x.key(), name, "listed more than once; index " + i + " skipped"));
                }
            }
            if (sel.to() != Integer.MAX_VALUE && list.size() < sel.to()) {
                short_.add(new DataIssue(e.label(), name,
                        "the class has " + list.size() + " entries in this split; indices "
                                + Math.max(sel.from(), list.size()) + ".." + (sel.to() - 1) + " do not exist"));
            }
        }
        return new Selected(out, short_);
    }

    /** The entries a selection picked, and notes on indices that do not exist. */
    public record Selected(List<SplitEntry> entries, List<DataIssue> notes) {
    }
}
