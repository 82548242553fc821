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
    /** sentencepiece's {@code pieces_}: what merging may produce (normal, user-defined and unused pieces). */
    private final Map<String, Integer> mergeable = new HashMap<>();
    /** sentencepiece's {@code reserved_id_map_}: control, unknown and byte pieces, looked up first. */
    private final Map<String, Integer> reserved = new HashMap<>();
    private final List<String> userDefined = new ArrayList<>();
    private final int unkId, bosId, eosId;
    private final boolean byteFallback, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces;

    private SentencePieceTokenizer(ModelProto m, String source) {
        pieces = m.pieces.toArray(new String[0]);
        scores = new float[pieces.length];
        types = new int[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            scores[i] = m.scores.get(i);
            types[i] = m.types.get(i);
            boolean normal = types[i] == NORMAL || types[i] == USER_DEFINED || types[i] == UNUSED;
            if ((normal ? mergeable : reserved).putIfAbsent(pieces[i], i) != null) {
                throw new TokenizerException(source + ": piece " + i + " (" + pieces[i] + ") is defined twice");
            }
            if (types[i] == USER_DEFINED) {
                userDefined.add(pieces[i]);
            }
        }
        userDefined.sort((a, b) -> b.length() - a.length());
        unkId = m.unkId;
        bosId = m.bosId;
        eosId = m.eosId;
        if (unkId < 0 || unkId >= pieces.length || types[unkId] != UNKNOWN) {
            throw new TokenizerException(source + ": unk_id " + unkId + " is not an unknown piece");
        }
        byteFallback = m.byteFallback;
        // As sentencepiece: byte pieces belong to byte fallback, and byte fallback needs all 256 of them.
        long bytePieces = m.types.stream().filter(t -> t == BYTE).count();
        if (!byteFallback && bytePieces > 0) {
            throw new TokenizerException(source + ": it has byte pieces but byte_fallback is off");
        }
        for (int b = 0; byteFallback && b < 256; b++) {
            String piece = String.format("<0x%02X>", b);
            Integer id = reserved.get(piece);
            if (id == null || types[id] != BYTE) {
                throw new TokenizerException(source + ": byte_fallback is on but the byte piece " + piece + " is missing");
            }
        }
        addDummyPrefix = m.addDummyPrefix;
        removeExtraWhitespaces = m.removeExtraWhitespaces;
        escapeWhitespaces = m.escapeWhitespaces;
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
        // Only what is implemented exactly is accepted: another algorithm or normalisation would give other ids
        // than sentencepiece in silence.
        if (m.modelType != 2) {
            throw new TokenizerException(nameForErrors + ": only BPE SentencePiece models (LLaMA's) are supported, this one has model_type "
                    + m.modelType + " (" + switch (m.modelType) {
                        case 1 -> "unigram";
                        case 3 -> "word";
                        case 4 -> "char";
                        default -> "unknown";
                    } + ")");
        }
        if (m.precompiledCharsmapBytes > 0) {
            throw new TokenizerException(nameForErrors + ": its normaliser '" + m.normalizerName
                    + "' rewrites text with a character map, which is not implemented (only 'identity' is)");
        }
        if (m.treatWhitespaceAsSuffix) {
            throw new TokenizerException(nameForErrors + ": treat_whitespace_as_suffix is not supported");
        }
        return new SentencePieceTokenizer(m, nameForErrors);
    }

    public int vocabSize() {
        return pieces.length;
    }

    public String idToPiece(int id) {
        return pieces[id];
    }

    /** The piece's id (any type), or -1 when the vocabulary has no such piece. */
    public int pieceToId(String piece) {
        Integer id = reserved.get(piece);
        if (id == null) {
            id = mergeable.get(piece);
        }
        return id == null ? -1 : id;
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
        boolean previousUnknown = false;
        for (String piece : segment(text)) {
            int id = pieceToId(piece);
            boolean unknown = id < 0 || types[id] == UNKNOWN;
            if (!unknown) {
                out.add(id);
            } else if (byteFallback) {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                    out.add(pieceToId(String.format("<0x%02X>", b & 0xff)));
                }
            } else if (!previousUnknown) {
                out.add(unkId);   // as sentencepiece, a run of unknown pieces is one unknown id
            }
            previousUnknown = unknown;
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

    /**
     * sentencepiece's normaliser without a character map: with remove_extra_whitespaces, leading, trailing and
     * repeated U+0020 spaces go (no other whitespace); spaces become "▁"; add_dummy_prefix prepends one.
     */
    private String normalize(String text) {
        if (text.isEmpty()) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length() + 1);
        String space = escapeWhitespaces ? SPACE : " ";
        if (addDummyPrefix) {
            sb.append(space);
        }
        boolean previousSpace = removeExtraWhitespaces;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ' ') {
                if (!previousSpace) {
                    sb.append(space);
                }
                previousSpace = removeExtraWhitespaces;
            } else {
                sb.append(c);
                previousSpace = false;
            }
        }
        if (removeExtraWhitespaces) {
            while (sb.length() > 0 && sb.lastIndexOf(space) == sb.length() - space.length()) {
                sb.setLength(sb.length() - space.length());
            }
        }
        return sb.toString();
    }

    /** A queued merge: its score, the two symbols' positions, and the merged length that keeps it current. */
    private record Candidate(float score, int left, int right, int length) {}

    /**
     * sentencepiece's BPE: start from characters (user-defined pieces whole), repeatedly merge the adjacent pair
     * whose union is the best-scoring piece (leftmost among equals), then split merged unused pieces back into
     * the pairs they came from. A queued candidate is stale once either symbol has changed: its merged length
     * then no longer equals the two symbols' lengths, and it is dropped (a stale pair must never merge at the
     * score it was queued with).
     */
    private List<String> segment(String text) {
        String norm = normalize(text);
        List<String> initial = new ArrayList<>();
        List<Boolean> frozen = new ArrayList<>();
        for (int i = 0; i < norm.length(); ) {
            String user = null;
            for (String u : userDefined) {
                if (norm.startsWith(u, i)) {
                    user = u;
                    break;
                }
            }
            int len = user != null ? user.length() : Character.charCount(norm.codePointAt(i));
            initial.add(norm.substring(i, i + len));
            frozen.add(user != null);
            i += len;
        }
        int n = initial.size();
        String[] sym = initial.toArray(new String[0]);
        int[] prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Candidate> agenda = new PriorityQueue<>((a, b) -> {
            int c = Float.compare(b.score, a.score);
            return c != 0 ? c : Integer.compare(a.left, b.left);
        });
        Map<String, String[]> unusedOrigins = new HashMap<>();
        for (int i = 0; i + 1 < n; i++) {
            offer(agenda, unusedOrigins, sym, frozen, i, i + 1);
        }
        while (!agenda.isEmpty()) {
            Candidate top = agenda.poll();
            String left = sym[top.left], right = sym[top.right];
            if (left.isEmpty() || right.isEmpty() || left.length() + right.length() != top.length) {
                continue;
            }
            sym[top.left] = left + right;
            sym[top.right] = "";
            next[top.left] = next[top.right];
            if (next[top.right] >= 0) {
                prev[next[top.right]] = top.left;
            }
            if (prev[top.left] >= 0) {
                offer(agenda, unusedOrigins, sym, frozen, prev[top.left], top.left);
            }
            if (next[top.left] >= 0) {
                offer(agenda, unusedOrigins, sym, frozen, top.left, next[top.left]);
            }
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i >= 0 && n > 0; i = next[i]) {
            resegment(sym[i], unusedOrigins, out);
        }
        return out;
    }

    private void offer(PriorityQueue<Candidate> agenda, Map<String, String[]> unusedOrigins, String[] sym, List<Boolean> frozen,
            int l, int r) {
        if (frozen.get(l) || frozen.get(r)) {
            return;
        }
        String merged = sym[l] + sym[r];
        Integer id = mergeable.get(merged);
        if (id == null) {
            return;
        }
        agenda.add(new Candidate(scores[id], l, r, merged.length()));
        if (types[id] == UNUSED) {
            unusedOrigins.put(merged, new String[] {sym[l], sym[r]});
        }
    }

    /** An unused piece is never emitted: it is replaced, recursively, by the two symbols it was merged from. */
    private void resegment(String piece, Map<String, String[]> unusedOrigins, List<String> out) {
        int id = pieceToId(piece);
        String[] origin = id >= 0 && types[id] == UNUSED ? unusedOrigins.get(piece) : null;
        if (origin == null) {
            out.add(piece);
            return;
        }
        resegment(origin[0], unusedOrigins, out);
        resegment(origin[1], unusedOrigins, out);
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
        int modelType = 1, unkId = 0, bosId = 1, eosId = 2, precompiledCharsmapBytes;
        String normalizerName = "";
        boolean byteFallback, treatWhitespaceAsSuffix, addDummyPrefix = true, removeExtraWhitespaces = true, escapeWhitespaces = true;

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
                    case 24 -> treatWhitespaceAsSuffix = p.varint() != 0;
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
                    case 1 -> normalizerName = p.string();
                    case 2 -> precompiledCharsmapBytes = p.string().length();
                    case 3 -> addDummyPrefix = p.varint() != 0;
                    case 4 -> removeExtraWhitespaces = p.varint() != 0;
                    case 5 -> escapeWhitespaces = p.varint() != 0;
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
