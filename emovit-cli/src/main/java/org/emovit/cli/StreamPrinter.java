package org.emovit.cli;

import java.io.PrintWriter;

/**
 * Prints a growing answer as it is generated. The text is re-decoded from all tokens at each step (a token
 * may complete a multi-byte character begun by the one before), so only the part that can no longer change
 * is printed: a trailing replacement character may still become a real character. Control characters other
 * than newline and tab are shown as U+FFFD so model output cannot drive the terminal.
 */
final class StreamPrinter {
    private final PrintWriter out;
    private String printed = "";

    StreamPrinter(PrintWriter out) {
        this.out = out;
    }

    void update(String text, boolean last) {
        String stable = last ? text : text.replaceAll("\uFFFD+$", "");
        if (stable.startsWith(printed)) {
            out.print(safe(stable.substring(printed.length())));
            printed = stable;
        } else if (last) {
            out.print(System.lineSeparator() + safe(stable));
            printed = stable;
        }
        out.flush();
    }

    static String safe(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(cp -> b.appendCodePoint(Character.isISOControl(cp) && cp != '\n' && cp != '\t' ? 0xFFFD : cp));
        return b.toString();
    }
}
