package org.emovit.data.assemble;

import org.emovit.data.PyText;
import org.emovit.data.InstructionKind;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits an LLM reply into question / answer pairs with the seed's regular expressions ({@code all.py}), with
 * the same results as Python's {@code re.findall(pattern, text, re.DOTALL)}:
 * <ul>
 *   <li>reasoning: {@code (?i)Question\s*:(.*?)\s*Answer\s*:(.*?)(?=\s*(Question\s*:|Answer\s*:|$))}</li>
 *   <li>conversation: {@code (?i)Question\s*\d*:(.*?)\s*Answer\s*\d*:(.*?)\s*(?=(Question:\d*|Complex
 *       Question:\d*|Complex question:\d*|$))}</li>
 * </ul>
 * then {@code strip()} on both parts. Python's {@code \s}, {@code \d}, {@code $}, {@code strip()} and Unicode
 * case folding differ from Java's defaults; the patterns below spell them out ({@link PyText#SPACE_CLASS},
 * {@code \p{Nd}}, {@code UNIX_LINES}, {@code UNICODE_CASE}).
 *
 * <p>The seed's quirks are kept on purpose: with "Question 1: … Answer 1: … Question 2: …" the conversation
 * pattern's look-ahead only stops an answer at "Question:" without a number, so the first answer runs on to the
 * next un-numbered "Question:" / "Complex Question:" or the end.
 */
public final class QaParser {
    private static final String S = PyText.SPACE_CLASS;
    private static final int FLAGS = Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.DOTALL
            | Pattern.UNIX_LINES;

    public static final Pattern REASONING = Pattern.compile(
            "Question" + S + "*:(.*?)" + S + "*Answer" + S + "*:(.*?)(?=" + S + "*(Question" + S + "*:|Answer" + S
                    + "*:|$))", FLAGS);

    public static final Pattern CONVERSATION = Pattern.compile(
            "Question" + S + "*\\p{Nd}*:(.*?)" + S + "*Answer" + S + "*\\p{Nd}*:(.*?)" + S
                    + "*(?=(Question:\\p{Nd}*|Complex Question:\\p{Nd}*|Complex question:\\p{Nd}*|$))", FLAGS);

    /** A question and its answer, stripped. */
    public record QaPair(String question, String answer) {
    }

    private QaParser() {
    }

    public static Pattern pattern(InstructionKind kind) {
        return kind == InstructionKind.REASONING ? REASONING : CONVERSATION;
    }

    /** All pairs, in order, as the seed's {@code all.py} finds them. */
    public static List<QaPair> parse(InstructionKind kind, String reply) {
        List<QaPair> out = new ArrayList<>();
        Matcher m = pattern(kind).matcher(reply);
        while (m.find()) {
            out.add(new QaPair(PyText.strip(m.group(1)), PyText.strip(m.group(2))));
        }
        return out;
    }
}
