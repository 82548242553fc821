package org.emovit.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Python's {@code str.isspace}, {@code str.strip()} and {@code str.split()}: the Python tokenizers and LAVIS's
 * output cleaning use them, and their whitespace is not Java's ({@code String.strip} keeps U+0085, U+00A0,
 * U+2007 and U+202F; Python removes them).
 */
public final class PythonText {
    private PythonText() {}

    /** Characters whose bidirectional class is WS, B or S, or whose category is Zs (stable since Unicode 6.3). */
    public static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    public static String strip(String s) {
        int start = 0, end = s.length();
        while (start < end && isSpace(s.codePointAt(start))) {
            start += Character.charCount(s.codePointAt(start));
        }
        while (end > start && isSpace(s.codePointBefore(end))) {
            end -= Character.charCount(s.codePointBefore(end));
        }
        return s.substring(start, end);
    }

    /** {@code s.split()}: the runs between whitespace, none empty. */
    public static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int start = -1;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (isSpace(cp)) {
                if (start >= 0) {
                    out.add(s.substring(start, i));
                    start = -1;
                }
            } else if (start < 0) {
                start = i;
            }
            i += Character.charCount(cp);
        }
        if (start >= 0) {
            out.add(s.substring(start));
        }
        return out;
    }
}
