package org.emovit.text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
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

    private final List<String> vocab;
    private final Map<String, Integer> ids = new HashMap<>();
    private final List<String> added;
    private final int cls, sep, pad, unk;

    private WordPieceTokenizer(List<String> vocab, List<String> addedTokens, String source) {
        this.vocab = new ArrayList<>(vocab);
        for (int i = 0; i < vocab.size(); i++) {
            ids.putIfAbsent(vocab.get(i), i);
        }
        this.added = new ArrayList<>();
        for (String a : addedTokens) {
            if (!ids.containsKey(a)) {
                ids.put(a, this.vocab.size());
                this.vocab.add(a);
            }
            added.add(a);
        }
        cls = require("[CLS]", source);
        sep = require("[SEP]", source);
        pad = require("[PAD]", source);
        unk = require("[UNK]", source);
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

    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        int at = 0;
        while (at <= text.length()) {
            int best = -1;
            String hit = null;
            for (String a : added) {
                int i = text.indexOf(a, at);
                if (i >= 0 && (best < 0 || i < best)) {
                    best = i;
                    hit = a;
                }
            }
            String chunk = best < 0 ? text.substring(at) : text.substring(at, best);
            for (String word : basicTokens(chunk)) {
                wordPiece(word, out);
            }
            if (best < 0) {
                break;
            }
            out.add(hit);
            at = best + hit.length();
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

    private static List<String> basicTokens(String text) {
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
        for (String word : clean.toString().trim().split(" +")) {
            if (word.isEmpty()) {
                continue;
            }
            String lower = stripAccents(word.toLowerCase(java.util.Locale.ROOT));
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
        return out;
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

    private static String stripAccents(String s) {
        String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
        StringBuilder sb = new StringBuilder();
        nfd.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK).forEach(sb::appendCodePoint);
        return sb.toString();
    }

    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.PRIVATE_USE || t == Character.SURROGATE
                || t == Character.UNASSIGNED;
    }

    private static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
                || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION
                || t == Character.FINAL_QUOTE_PUNCTUATION || t == Character.OTHER_PUNCTUATION;
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
