package org.emovit.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * The Unicode properties BERT's Python tokenizer reads (category, lower case, canonical decomposition), as the
 * Python that made its reference ids has them (bert-unicode.txt.gz, written by
 * tools/tokenizer-reference/make_unicode_table.py). Java's own tables follow the JDK's Unicode version (13 on JDK 17,
 * 16 on JDK 25): with them, characters assigned in between would tokenize differently on each JDK.
 */
final class BertUnicode {
    static final BertUnicode DATA = load();

    private final String version;
    private final int[] classStarts, sigmaStarts;
    private final byte[] classes, sigmas;
    private final Map<Integer, Integer> ccc = new HashMap<>();
    private final Map<Integer, String> lower = new HashMap<>();
    private final Map<Integer, String> nfd = new HashMap<>();

    private BertUnicode(String version, List<int[]> classRuns, List<int[]> sigmaRuns) {
        this.version = version;
        classStarts = classRuns.stream().mapToInt(r -> r[0]).toArray();
        classes = new byte[classRuns.size()];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = (byte) classRuns.get(i)[1];
        }
        sigmaStarts = sigmaRuns.stream().mapToInt(r -> r[0]).toArray();
        sigmas = new byte[sigmaRuns.size()];
        for (int i = 0; i < sigmas.length; i++) {
            sigmas[i] = (byte) sigmaRuns.get(i)[1];
        }
    }

    String version() {
        return version;
    }

    /** Category C* (control, format, unassigned, private use): dropped by BERT's text cleaning. */
    boolean isOther(int cp) {
        return classOf(cp) == 'C';
    }

    boolean isSpaceSeparator(int cp) {
        return classOf(cp) == 'Z';
    }

    boolean isPunctuation(int cp) {
        return classOf(cp) == 'P';
    }

    boolean isNonSpacingMark(int cp) {
        return classOf(cp) == 'M';
    }

    private int classOf(int cp) {
        return classes[run(classStarts, cp)];
    }

    private static int run(int[] starts, int cp) {
        int i = Arrays.binarySearch(starts, cp);
        return i >= 0 ? i : -i - 2;
    }

    /** Python's {@code str.lower()}, final sigma included: Σ is ς after a cased letter that no cased letter follows. */
    String lower(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        int[] cps = s.codePoints().toArray();
        for (int i = 0; i < cps.length; i++) {
            int cp = cps[i];
            if (cp == 0x3A3) {
                sb.append(finalSigma(cps, i) ? '\u03C2' : '\u03C3');
            } else {
                String l = lower.get(cp);
                if (l != null) {
                    sb.append(l);
                } else {
                    sb.appendCodePoint(cp);
                }
            }
        }
        return sb.toString();
    }

    private boolean finalSigma(int[] cps, int at) {
        int j = at - 1;
        while (j >= 0 && sigmaFlag(cps[j]) == 'I') {
            j--;
        }
        if (j < 0 || sigmaFlag(cps[j]) != 'K') {
            return false;
        }
        j = at + 1;
        while (j < cps.length && sigmaFlag(cps[j]) == 'I') {
            j++;
        }
        return j == cps.length || sigmaFlag(cps[j]) != 'K';
    }

    private int sigmaFlag(int cp) {
        return sigmas[run(sigmaStarts, cp)];
    }

    /** NFD (full canonical decomposition, then canonical order), with the non-spacing marks (Mn) removed. */
    String stripAccents(String s) {
        List<Integer> decomposed = new ArrayList<>(s.length() + 4);
        s.codePoints().forEach(cp -> decompose(cp, decomposed));
        // Canonical order: within each run of non-zero combining classes, a stable sort by class.
        for (int start = 0; start < decomposed.size(); ) {
            int end = start;
            while (end < decomposed.size() && combiningClass(decomposed.get(end)) != 0) {
                end++;
            }
            if (end - start > 1) {
                decomposed.subList(start, end).sort((a, b) -> Integer.compare(combiningClass(a), combiningClass(b)));
            }
            start = end + 1;
        }
        StringBuilder sb = new StringBuilder(s.length());
        for (int cp : decomposed) {
            if (!isNonSpacingMark(cp)) {
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString();
    }

    private int combiningClass(int cp) {
        return ccc.getOrDefault(cp, 0);
    }

    private void decompose(int cp, List<Integer> out) {
        if (cp >= 0xAC00 && cp <= 0xD7A3) {   // Hangul syllables: L V (T), by the Unicode algorithm
            int index = cp - 0xAC00;
            out.add(0x1100 + index / (21 * 28));
            out.add(0x1161 + (index % (21 * 28)) / 28);
            if (index % 28 != 0) {
                out.add(0x11A7 + index % 28);
            }
            return;
        }
        String d = nfd.get(cp);
        if (d == null) {
            out.add(cp);
        } else {
            d.codePoints().forEach(out::add);
        }
    }

    private static BertUnicode load() {
        String resource = "bert-unicode.txt.gz";
        try (InputStream raw = BertUnicode.class.getResourceAsStream(resource)) {
            if (raw == null) {
                throw new IllegalStateException("the class path lacks org/emovit/text/" + resource);
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.US_ASCII));
            String section = "", version = "";
            List<int[]> classRuns = new ArrayList<>(), sigmaRuns = new ArrayList<>();
            Map<Integer, Integer> ccc = new HashMap<>();
            Map<Integer, String> lower = new HashMap<>(), nfd = new HashMap<>();
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("@")) {
                    section = line;
                    continue;
                }
                String[] f = line.split(" ");
                switch (section) {
                    case "@version" -> version = line;
                    case "@class" -> classRuns.add(new int[] {Integer.parseInt(f[0], 16), f[1].charAt(0)});
                    case "@sigma" -> sigmaRuns.add(new int[] {Integer.parseInt(f[0], 16), f[1].charAt(0)});
                    case "@ccc" -> ccc.put(Integer.parseInt(f[0], 16), Integer.parseInt(f[1]));
                    case "@lower" -> lower.put(Integer.parseInt(f[0], 16), codePoints(f));
                    case "@nfd" -> nfd.put(Integer.parseInt(f[0], 16), codePoints(f));
                    default -> throw new IllegalStateException(resource + ": a line outside any section: " + line);
                }
            }
            BertUnicode u = new BertUnicode(version, classRuns, sigmaRuns);
            u.ccc.putAll(ccc);
            u.lower.putAll(lower);
            u.nfd.putAll(nfd);
            return u;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String codePoints(String[] fields) {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i < fields.length; i++) {
            sb.appendCodePoint(Integer.parseInt(fields[i], 16));
        }
        return sb.toString();
    }
}
