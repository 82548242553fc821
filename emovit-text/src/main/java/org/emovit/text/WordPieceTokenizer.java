package org.emovit.text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT's uncased WordPiece tokenizer (HF BertTokenizer): clean the text, space out CJK characters, lower-case,
 * strip accents, split on whitespace and punctuation, then greedy longest-match WordPiece with "##"
 * continuations. Added tokens (InstructBLIP's "[DEC]") are never split.
 */
public final class WordPieceTokenizer {
    private static final int MAX_WORD_CHARS = 100;
    private static final BertUnicode UNICODE = BertUnicode.DATA;

    private final List<String> vocab;
    private final Map<String, Integer> ids = new HashMap<>();
    private final AddedTokens specials;
    private final int cls, sep, pad, unk;

    private WordPieceTokenizer(List<String> vocab, List<String> addedTokens, String source) {
        this.vocab = new ArrayList<>(vocab);
        for (int i = 0; i < vocab.size(); i++) {
            ids.putIfAbsent(vocab.get(i), i);
        }
        List<String> special = new ArrayList<>();
        for (String a : addedTokens) {
            if (!ids.containsKey(a)) {
                ids.put(a, this.vocab.size());
                this.vocab.add(a);
            }
            special.add(a);
        }
        cls = require("[CLS]", source);
        sep = require("[SEP]", source);
        pad = require("[PAD]", source);
        unk = require("[UNK]", source);
        for (String t : List.of("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")) {
            if (ids.containsKey(t)) {
                special.add(t);
            }
        }
        this.specials = new AddedTokens(special);
    }

    private int require(String token, String source) {
        Integer id = ids.get(token);
        if (id == null) {
            throw new TokenizerException(source + " has no " + token + " token: not a BERT vocabulary");
        }
        return id;
    }

    public static WordPieceTokenizer load(Path vocabTxt, List<String> addedTokens) {
        List<String> lines;
        try {
            lines = Files.readAllLines(vocabTxt, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TokenizerException("cannot read WordPiece vocabulary " + vocabTxt + ": " + e.getMessage(), e);
        }
        List<String> vocab = new ArrayList<>();
        for (String line : lines) {
            vocab.add(line.strip());
        }
        while (!vocab.isEmpty() && vocab.get(vocab.size() - 1).isEmpty()) {
            vocab.remove(vocab.size() - 1);
        }
        return new WordPieceTokenizer(vocab, addedTokens, vocabTxt.toString());
    }

    public int clsId() {
        return cls;
    }

    public int sepId() {
        return sep;
    }

    public int padId() {
        return pad;
    }

    public int unkId() {
        return unk;
    }

    public int vocabSize() {
        return vocab.size();
    }

    /** Token ids with [CLS] first and [SEP] last. */
    public int[] encode(String text) {
        List<String> tokens = tokenize(text);
        int[] out = new int[tokens.size() + 2];
        out[0] = cls;
        for (int i = 0; i < tokens.size(); i++) {
            out[i + 1] = ids.get(tokens.get(i));
        }
        out[out.length - 1] = sep;
        return out;
    }

    /**
     * The tokens of HF's BertTokenizer: special tokens written in the text ([CLS], [SEP], [PAD], [MASK], [UNK] and
     * the added ones) stay whole, the text between them goes through the basic tokenizer and WordPiece.
     */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        for (AddedTokens.Segment s : specials.split(text)) {
            if (s.added()) {
                out.add(s.text());
                continue;
            }
            for (String word : basicTokens(s.text())) {
                if (specials.contains(word)) {
                    out.add(word);   // a special token that cleaning joined (e.g. "[CL\u0000S]") stays whole, as in HF
                } else {
                    wordPiece(word, out);
                }
            }
        }
        return out;
    }

    public String decode(int[] tokenIds) {
        StringBuilder sb = new StringBuilder();
        for (int id : tokenIds) {
            if (id == cls || id == sep || id == pad || id < 0 || id >= vocab.size()) {
                continue;
            }
            String t = vocab.get(id);
            if (t.startsWith("##")) {
                sb.append(t, 2, t.length());
            } else {
                if (sb.length() > 0) {
                    sb.append(' ');
                }
                sb.append(t);
            }
        }
        return sb.toString();
    }

    /**
     * BERT's basic tokenizer as transformers' Python BertTokenizer runs it: drop NUL, U+FFFD and control
     * characters, make whitespace a space, space out CJK ideographs, split on Python's whitespace (which also
     * splits at U+001C..U+001F, U+0085, U+2028 and U+2029), lower-case, strip accents (NFD without Mn), split
     * off punctuation.
     */
    private List<String> basicTokens(String text) {
        StringBuilder clean = new StringBuilder();
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                return;
            }
            if (isWhitespace(cp)) {
                clean.append(' ');
            } else if (isCjk(cp)) {
                clean.append(' ').appendCodePoint(cp).append(' ');
            } else {
                clean.appendCodePoint(cp);
            }
        });
        List<String> out = new ArrayList<>();
        // Python's tokenizer composes (NFC) here; skipped, as the accents are stripped by NFD further on and NFD
        // undoes any composition (lower case commutes with canonical equivalence).
        for (String word : PythonText.split(clean.toString())) {
            if (specials.contains(word)) {
                out.add(word);
                continue;
            }
            String lower = UNICODE.stripAccents(UNICODE.lower(word));
            StringBuilder current = new StringBuilder();
            lower.codePoints().forEach(cp -> {
                if (isPunctuation(cp)) {
                    if (current.length() > 0) {
                        out.add(current.toString());
                        current.setLength(0);
                    }
                    out.add(new String(Character.toChars(cp)));
                } else {
                    current.appendCodePoint(cp);
                }
            });
            if (current.length() > 0) {
                out.add(current.toString());
            }
        }
        return PythonText.split(String.join(" ", out));
    }

    private void wordPiece(String word, List<String> out) {
        if (word.codePointCount(0, word.length()) > MAX_WORD_CHARS) {
            out.add("[UNK]");
            return;
        }
        List<String> pieces = new ArrayList<>();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            String found = null;
            while (start < end) {
                String sub = (start > 0 ? "##" : "") + word.substring(start, end);
                if (ids.containsKey(sub)) {
                    found = sub;
                    break;
                }
                end = word.offsetByCodePoints(end, -1);
            }
            if (found == null) {
                out.add("[UNK]");
                return;
            }
            pieces.add(found);
            start = end;
        }
        out.addAll(pieces);
    }

    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || UNICODE.isSpaceSeparator(cp);
    }

    private static boolean isControl(int cp) {
        return cp != '\t' && cp != '\n' && cp != '\r' && UNICODE.isOther(cp);
    }

    private static boolean isPunctuation(int cp) {
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)
                || UNICODE.isPunctuation(cp);
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
