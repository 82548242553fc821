package org.emovit.text;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * A SentencePiece BPE model (LLaMA's tokenizer.model), encoding and decoding as the sentencepiece library does.
 * Written by hand because no maintained Java port of sentencepiece loads offline; the model file is a small
 * protobuf, read here without a protobuf library.
 */
public final class SentencePieceTokenizer {
    static final String SPACE = "\u2581";
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    private final String[] pieces;
    private final float[] scores;
    private final int[] types;
    private final Map<String, Integer> ids = new HashMap<>();
    private final int[] byteIds = new int[256];
    private final List<String> userDefined = new ArrayList<>();
    private final int unkId, bosId, eosId;
    private final boolean byteFallback, addDummyPrefix, removeExtraWhitespaces;

    private SentencePieceTokenizer(ModelProto m) {
        pieces = m.pieces.toArray(new String[0]);
        scores = new float[pieces.length];
        types = new int[pieces.length];
        java.util.Arrays.fill(byteIds, -1);
        for (int i = 0; i < pieces.length; i++) {
            scores[i] = m.scores.get(i);
            types[i] = m.types.get(i);
            ids.putIfAbsent(pieces[i], i);
            if (types[i] == BYTE && pieces[i].length() == 6 && pieces[i].startsWith("<0x")) {
                byteIds[Integer.parseInt(pieces[i].substring(3, 5), 16)] = i;
            }
            if (types[i] == USER_DEFINED) {
                userDefined.add(pieces[i]);
            }
        }
        userDefined.sort((a, b) -> b.length() - a.length());
        unkId = m.unkId;
        bosId = m.bosId;
        eosId = m.eosId;
        byteFallback = m.byteFallback;
        addDummyPrefix = m.addDummyPrefix;
        removeExtraWhitespaces = m.removeExtraWhitespaces;
    }

    public static SentencePieceTokenizer load(Path tokenizerModel) {
        try (InputStream in = Files.newInputStream(tokenizerModel)) {
            return load(in, tokenizerModel.toString());
        } catch (IOException e) {
            throw new TokenizerException("cannot read SentencePiece model " + tokenizerModel + ": " + e.getMessage(), e);
        }
    }

    public static SentencePieceTokenizer load(InputStream in, String nameForErrors) {
        byte[] bytes;
        try {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ModelProto m;
        try {
            m = ModelProto.parse(bytes);
        } catch (RuntimeException e) {
            throw new TokenizerException(nameForErrors + " is not a valid SentencePiece model: " + e.getMessage(), e);
        }
        if (m.pieces.isEmpty()) {
            throw new TokenizerException(nameForErrors + " is not a valid SentencePiece model: it has no pieces");
        }
        if (m.modelType != 2) {
            throw new TokenizerException(nameForErrors + ": only BPE SentencePiece models (LLaMA's) are supported, this one has model_type "
                    + m.modelType);
        }
        return new SentencePieceTokenizer(m);
    }

    public int vocabSize() {
        return pieces.length;
    }

    public String idToPiece(int id) {
        return pieces[id];
    }

    /** The piece's id, or -1 when the vocabulary has no such piece. */
    public int pieceToId(String piece) {
        return ids.getOrDefault(piece, -1);
    }

    public int unkId() {
        return unkId;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public boolean isControl(int id) {
        return id >= 0 && id < types.length && types[id] == CONTROL;
    }

    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        for (Symbol s : segment(text)) {
            emit(s.text, out);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    public List<String> encodeAsPieces(String text) {
        List<String> out = new ArrayList<>();
        for (int id : encode(text)) {
            out.add(pieces[id]);
        }
        return out;
    }

    /** The normalised text: spaces become "▁", a "▁" is prepended (add_dummy_prefix). */
    private String normalize(String text) {
        String t = text;
        if (removeExtraWhitespaces) {
            t = t.strip().replaceAll(" +", " ");
        }
        if (t.isEmpty()) {
            return t;
        }
        t = t.replace(" ", SPACE);
        return addDummyPrefix ? SPACE + t : t;
    }

    private record Symbol(String text, boolean fixed) {}

    /** BPE: start from characters (user-defined pieces whole), merge the best-scoring adjacent pair until none is a piece. */
    private List<Symbol> segment(String text) {
        String norm = normalize(text);
        List<Symbol> symbols = new ArrayList<>();
        for (int i = 0; i < norm.length(); ) {
            String user = null;
            for (String u : userDefined) {
                if (norm.startsWith(u, i)) {
                    user = u;
                    break;
                }
            }
            if (user != null) {
                symbols.add(new Symbol(user, true));
                i += user.length();
            } else {
                int cp = norm.codePointAt(i);
                int len = Character.charCount(cp);
                symbols.add(new Symbol(norm.substring(i, i + len), false));
                i += len;
            }
        }
        int n = symbols.size();
        String[] sym = new String[n];
        boolean[] fixed = new boolean[n];
        int[] prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            sym[i] = symbols.get(i).text;
            fixed[i] = symbols.get(i).fixed;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // Candidates ordered by score, then leftmost, as sentencepiece's agenda orders them.
        PriorityQueue<long[]> agenda = new PriorityQueue<>((a, b) -> {
            int c = Float.compare(Float.intBitsToFloat((int) b[0]), Float.intBitsToFloat((int) a[0]));
            return c != 0 ? c : Long.compare(a[1], b[1]);
        });
        Map<Long, String> pairText = new HashMap<>();
        for (int i = 0; i + 1 < n; i++) {
            push(agenda, pairText, sym, fixed, i, i + 1);
        }
        while (!agenda.isEmpty()) {
            long[] top = agenda.poll();
            int left = (int) top[1], right = (int) top[2];
            if (sym[left] == null || sym[right] == null || next[left] != right) {
                continue;
            }
            String merged = pairText.get(top[1] << 32 | top[2]);
            if (!merged.equals(sym[left] + sym[right])) {
                continue;
            }
            sym[left] = merged;
            sym[right] = null;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            if (prev[left] >= 0) {
                push(agenda, pairText, sym, fixed, prev[left], left);
            }
            if (next[left] >= 0) {
                push(agenda, pairText, sym, fixed, left, next[left]);
            }
        }
        List<Symbol> out = new ArrayList<>();
        for (int i = 0; i >= 0 && n > 0; i = next[i]) {
            out.add(new Symbol(sym[i], fixed[i]));
        }
        return out;
    }

    private void push(PriorityQueue<long[]> agenda, Map<Long, String> pairText, String[] sym, boolean[] fixed, int l, int r) {
        if (fixed[l] || fixed[r]) {
            return;
        }
        String merged = sym[l] + sym[r];
        Integer id = ids.get(merged);
        if (id == null || types[id] == UNUSED) {
            return;
        }
        pairText.put((long) l << 32 | r, merged);
        agenda.add(new long[] {Float.floatToIntBits(scores[id]), l, r});
    }

    private void emit(String piece, List<Integer> out) {
        Integer id = ids.get(piece);
        if (id != null && types[id] != UNUSED) {
            out.add(id);
            return;
        }
        if (byteFallback) {
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                out.add(byteIds[b & 0xff]);
            }
        } else {
            out.add(unkId);
        }
    }

    /** Text of the ids: "▁" is a space, byte pieces are reassembled as UTF-8, control pieces are dropped. */
    public String decode(int[] idsToDecode) {
        StringBuilder sb = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : idsToDecode) {
            if (id < 0 || id >= pieces.length) {
                continue;
            }
            if (types[id] == BYTE) {
                bytes.write(Integer.parseInt(pieces[id].substring(3, 5), 16));
                continue;
            }
            flush(bytes, sb);
            if (types[id] == CONTROL) {
                continue;
            }
            sb.append(types[id] == UNKNOWN ? " \u2047 " : pieces[id]);
        }
        flush(bytes, sb);
        String text = sb.toString().replace(SPACE, " ");
        return addDummyPrefix && text.startsWith(" ") ? text.substring(1) : text;
    }

    private static void flush(ByteArrayOutputStream bytes, StringBuilder sb) {
        if (bytes.size() > 0) {
            sb.append(new String(bytes.toByteArray(), StandardCharsets.UTF_8));
            bytes.reset();
        }
    }

    /** The fields of sentencepiece_model.proto this tokenizer needs. */
    private static final class ModelProto {
        final List<String> pieces = new ArrayList<>();
        final List<Float> scores = new ArrayList<>();
        final List<Integer> types = new ArrayList<>();
        int modelType = 1, unkId = 0, bosId = 1, eosId = 2;
        boolean byteFallback, addDummyPrefix = true, removeExtraWhitespaces = true;

        static ModelProto parse(byte[] b) {
            ModelProto m = new ModelProto();
            Protobuf p = new Protobuf(b, 0, b.length);
            while (p.more()) {
                int tag = p.tag();
                switch (tag >>> 3) {
                    case 1 -> m.piece(p.message());
                    case 2 -> m.trainer(p.message());
                    case 3 -> m.normalizer(p.message());
                    default -> p.skip(tag);
                }
            }
            return m;
        }

        void piece(Protobuf p) {
            String piece = "";
            float score = 0;
            int type = NORMAL;
            while (p.more()) {
                int tag = p.tag();
                switch (tag >>> 3) {
                    case 1 -> piece = p.string();
                    case 2 -> score = p.float32();
                    case 3 -> type = (int) p.varint();
                    default -> p.skip(tag);
                }
            }
            pieces.add(piece);
            scores.add(score);
            types.add(type);
        }

        void trainer(Protobuf p) {
            while (p.more()) {
                int tag = p.tag();
                switch (tag >>> 3) {
                    case 3 -> modelType = (int) p.varint();
                    case 35 -> byteFallback = p.varint() != 0;
                    case 40 -> unkId = (int) p.varint();
                    case 41 -> bosId = (int) p.varint();
                    case 42 -> eosId = (int) p.varint();
                    default -> p.skip(tag);
                }
            }
        }

        void normalizer(Protobuf p) {
            while (p.more()) {
                int tag = p.tag();
                switch (tag >>> 3) {
                    case 3 -> addDummyPrefix = p.varint() != 0;
                    case 4 -> removeExtraWhitespaces = p.varint() != 0;
                    default -> p.skip(tag);
                }
            }
        }
    }

    /** A minimal protobuf wire-format reader. */
    private static final class Protobuf {
        private final byte[] b;
        private int pos;
        private final int end;

        Protobuf(byte[] b, int pos, int end) {
            this.b = b;
            this.pos = pos;
            this.end = end;
        }

        boolean more() {
            return pos < end;
        }

        int tag() {
            return (int) varint();
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new IllegalStateException("truncated varint at byte " + pos);
                }
                int x = b[pos++] & 0xff;
                v |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) {
                    return v;
                }
            }
            throw new IllegalStateException("malformed varint at byte " + pos);
        }

        Protobuf message() {
            int len = length();
            Protobuf m = new Protobuf(b, pos, pos + len);
            pos += len;
            return m;
        }

        String string() {
            int len = length();
            String s = new String(b, pos, len, StandardCharsets.UTF_8);
            pos += len;
            return s;
        }

        float float32() {
            if (pos + 4 > end) {
                throw new IllegalStateException("truncated float at byte " + pos);
            }
            int v = (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff) << 16 | (b[pos + 3] & 0xff) << 24;
            pos += 4;
            return Float.intBitsToFloat(v);
        }

        private int length() {
            long len = varint();
            if (len < 0 || pos + len > end) {
                throw new IllegalStateException("field length " + len + " runs past the end at byte " + pos);
            }
            return (int) len;
        }

        void skip(int tag) {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> pos += 8;
                case 2 -> {
                    int len = length();   // read before adding: `pos += length()` would use the old pos
                    pos += len;
                }
                case 5 -> pos += 4;
                default -> throw new IllegalStateException("unsupported wire type " + (tag & 7) + " at byte " + pos);
            }
            if (pos > end) {
                throw new IllegalStateException("field runs past the end");
            }
        }
    }
}
