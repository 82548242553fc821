package org.emovit.data;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * The bits of Python's text behaviour that the seed scripts' output depends on, so that files are byte-exact
 * with theirs: {@code str()} / {@code repr()} of values loaded by {@code json.load}, {@code str.isspace} /
 * {@code str.strip}, and reading a file in text mode (UTF-8, universal newlines).
 */
public final class PyText {
    private PyText() {
    }

    /**
     * A regular-expression character class equal to Python 3's {@code \s} on {@code str} patterns (the
     * characters for which {@code str.isspace()} is true; Java's {@code \s} is narrower).
     */
    public static final String SPACE_CLASS =
            "[\\t\\n\\x0B\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]";

    /** Python's {@code str.isspace()} for one code point. */
    public static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /** Python's {@code str.strip()} (no argument). */
    public static String strip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isSpace(s.charAt(start))) {
            start++;
        }
        while (end > start && isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(start, end);
    }

    /**
     * Reads a file as Python's {@code open(path, 'r', encoding='utf-8').read()}: strict UTF-8 (a BOM is kept),
     * and universal newlines ({@code \r\n} and lone {@code \r} become {@code \n}).
     *
     * @throws IOException when the file cannot be read or is not valid UTF-8
     */
    public static String readText(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(in, out, true);
        if (r.isError()) {
            // the decoder stops at the bad byte: say where, so the file can be fixed (the JDK says "Input length = 1")
            throw new MalformedDataException(file + ": not UTF-8 text (byte 0x"
                    + String.format("%02X", bytes[in.position()] & 0xFF) + " at offset " + in.position() + ")");
        }
        return universalNewlines(out.flip().toString());
    }

    /** {@code \r\n} and lone {@code \r} to {@code \n}, as Python's text mode reads them. */
    public static String universalNewlines(String s) {
        if (s.indexOf('\r') < 0) {
            return s;
        }
        return s.replace("\r\n", "\n").replace('\r', '\n');
    }

    /** Python's {@code str(v)} of a value that {@code json.load} produced: a string as is, anything else its repr. */
    public static String str(JsonNode v) {
        if (v != null && v.isTextual()) {
            return v.textValue();
        }
        return repr(v);
    }

    /**
     * Python's {@code repr(v)} of a value that {@code json.load} produced: {@code None}, {@code True}/{@code False},
     * ints, floats (shortest round-trip form, {@code 1e-05}, {@code inf}, {@code nan}), quoted strings, lists
     * {@code ['Toy', 'Ball']} and dicts {@code {'k': 1}}.
     */
    public static String repr(JsonNode v) {
        StringBuilder sb = new StringBuilder();
        appendRepr(sb, v);
        return sb.toString();
    }

    private static void appendRepr(StringBuilder sb, JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            sb.append("None");
        } else if (v.isBoolean()) {
            sb.append(v.booleanValue() ? "True" : "False");
        } else if (v.isIntegralNumber()) {
            sb.append(v.bigIntegerValue().toString());
        } else if (v.isNumber()) {
            sb.append(floatRepr(v.doubleValue()));
        } else if (v.isTextual()) {
            appendStringRepr(sb, v.textValue());
        } else if (v.isArray()) {
            sb.append('[');
            for (int i = 0; i < v.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                appendRepr(sb, v.get(i));
            }
            sb.append(']');
        } else if (v.isObject()) {
            sb.append('{');
            boolean first = true;
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                appendStringRepr(sb, e.getKey());
                sb.append(": ");
                appendRepr(sb, e.getValue());
            }
            sb.append('}');
        } else {
            sb.append(v.asText());
        }
    }

    /** Python's {@code repr(s)} of a string. */
    public static String stringRepr(String s) {
        StringBuilder sb = new StringBuilder();
        appendStringRepr(sb, s);
        return sb.toString();
    }

    private static void appendStringRepr(StringBuilder sb, String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(quote);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == quote || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else if (cp == '\t') {
                sb.append("\\t");
            } else if (cp == '\n') {
                sb.append("\\n");
            } else if (cp == '\r') {
                sb.append("\\r");
            } else if (cp < 0x20 || cp == 0x7F) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp < 0x7F) {
                sb.append((char) cp);
            } else if (isPrintable(cp)) {
                sb.appendCodePoint(cp);
            } else if (cp <= 0xFF) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp <= 0xFFFF) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.append(String.format("\\U%08x", cp));
            }
        }
        sb.append(quote);
    }

    /** Python's {@code str.isprintable()} for one non-ASCII code point. */
    private static boolean isPrintable(int cp) {
        switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                    Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                    Character.SPACE_SEPARATOR:
                return false;
            default:
                return true;
        }
    }

    /**
     * Python's {@code repr(float)}: the shortest decimal that reads back as the same double (the closest of
     * them when several have that length), in fixed notation when the decimal exponent is in -4..16, else as
     * {@code 1e-05} / {@code 1.5e+16}; {@code 0.4}, {@code 1.0}, {@code -0.0}, {@code inf}, {@code nan}.
     */
    public static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        boolean negative = d < 0 || (d == 0 && 1 / d < 0);
        String sign = negative ? "-" : "";
        double a = Math.abs(d);
        if (a == 0) {
            return sign + "0.0";
        }
        BigDecimal exact = new BigDecimal(a);
        BigDecimal best = null;
        for (int p = 1; p <= 17 && best == null; p++) {
            for (RoundingMode mode : new RoundingMode[] {RoundingMode.FLOOR, RoundingMode.CEILING}) {
                BigDecimal c = exact.round(new MathContext(p, mode));
                if (c.doubleValue() == a && (best == null
                        || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = c;
                }
            }
        }
        if (best == null) {
            best = exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
        }
        best = best.stripTrailingZeros();
        String digits = best.unscaledValue().toString();
        int decpt = digits.length() - best.scale();
        StringBuilder sb = new StringBuilder(sign);
        if (decpt <= -4 || decpt > 16) {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            sb.append('e').append(exp < 0 ? '-' : '+');
            int ae = Math.abs(exp);
            if (ae < 10) {
                sb.append('0');
            }
            sb.append(ae);
        } else if (decpt <= 0) {
            sb.append("0.").append("0".repeat(-decpt)).append(digits);
        } else if (decpt >= digits.length()) {
            sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
        } else {
            sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return sb.toString();
    }
}
