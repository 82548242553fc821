#!/usr/bin/env python3
"""Reference ids for emovit-text's differential tests, computed once with the Python implementations.

Not part of the product and never run by tests or CI: it writes
emovit-text/src/test/resources/tokenizers/real-vocab-reference.jsonl.gz, which the tests read.

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install sentencepiece transformers tokenizers protobuf
    /tmp/refenv/bin/python tools/tokenizer-reference/make_reference.py

(on this project's machines: pip's --index-url file:///opt/pypi/simple --extra-index-url file:///opt/pypi-more/simple).
Inputs: the real LLaMA tokenizer.model and bert-base-uncased vocab.txt copied into the test resources.

Each line: {"text", "sp": sentencepiece ids, "spdec": sentencepiece's decoding of them,
"vicuna": the ids of LAVIS's LLaMA tokenizer (transformers' slow sentencepiece tokenizer, legacy, with
bos/eos/unk = "</s>" and "[PAD]" added; special tokens written in the text become their ids), present only where
they differ from "sp"; "bert": LAVIS's Q-Former BertTokenizer (the Python implementation, uncased, "[DEC]" added),
with [CLS] and [SEP]; "bertfast": the tokenizers-library BertTokenizer, present only where it differs.}
"""
import gzip, json, os, random, sys, unicodedata

import sentencepiece as spm
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
from transformers import BertTokenizer
from transformers.tokenization_utils_sentencepiece import SentencePieceBackend

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RES = os.path.join(ROOT, "emovit-text/src/test/resources/tokenizers")
LLAMA = os.path.join(RES, "llama-tokenizer.model")
BERT = os.path.join(RES, "bert-base-uncased-vocab.txt")
OUT = os.path.join(RES, "real-vocab-reference.jsonl.gz")

EMOTIONS = ["amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness"]
# Kept byte for byte with org.emovit.core.Prompts; the Java test fails when a prompt it builds is missing here.
CLASSIFICATION_INSTRUCTION = ("Please select the emotion closest to the image from the following options:"
    "amusement, anger, awe, contentment, disgust, excitement, fear and sadness "
    "(Do not provide answers outside of the candidates options.) "
    "Please answer in the following format:  Predict emotion:")
CAPTION_INSTRUCTION = "A short image caption:"


def explanation_question(label):
    return "Why does this image evoke " + (label or "this emotion") + "? Explain what in the image causes this feeling."


def prompts():
    out = [CLASSIFICATION_INSTRUCTION, CAPTION_INSTRUCTION, explanation_question(None), "Predict emotion: "]
    for e in EMOTIONS:
        out += ["Predict emotion: " + e, "Predict emotion: " + e + "</s>", e, " " + e, explanation_question(e)]
    return out


def words():
    ws = set()
    with open(BERT, encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if w.isalpha() and w.isascii() and len(w) > 1:
                ws.add(w)
    sp = spm.SentencePieceProcessor(model_file=LLAMA)
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        if p.startswith("\u2581") and p[1:].isalpha() and p[1:].isascii() and len(p) > 2:
            ws.add(p[1:].lower())
    return sorted(ws)


def corpus(rng):
    ws = words()
    out = list(prompts())
    # English words, as they come and capitalised: every merge order of the vocabulary gets exercised.
    for w in ws:
        out.append(w)
    for w in rng.sample(ws, 6000):
        out.append(w.capitalize())
    for w in rng.sample(ws, 3000):
        out.append(w.upper())
    punct = [".", ",", "!", "?", ";", ":", "", "", ""]
    for _ in range(8000):
        n = rng.randint(2, 16)
        s = " ".join(rng.choice(ws) for _ in range(n))
        out.append(s[0].upper() + s[1:] + rng.choice(punct))
    objects = ["a dog", "two children", "an old man", "a crowded street", "the ocean at sunset", "a burning house",
               "a birthday cake", "a spider", "a rotten apple", "mountains under snow", "a crying woman",
               "fireworks over the city", "a quiet lake", "a roller coaster", "a broken toy", "soldiers in the rain"]
    verbs = ["sitting on", "running through", "looking at", "standing near", "playing with", "lying in"]
    places = ["a park", "the beach", "a dark room", "the kitchen", "a stadium", "the forest", "a hospital bed"]
    for _ in range(3000):
        o, v, p, e = rng.choice(objects), rng.choice(verbs), rng.choice(places), rng.choice(EMOTIONS)
        out.append(f"a photo of {o} {v} {p}")
        out.append(f"The image shows {o} {v} {p}, which evokes {e}.")
        out.append(f"Q: What emotion does the image of {o} evoke? A: Predict emotion: {e}")
    for _ in range(500):
        e = rng.choice(EMOTIONS)
        out.append(f"Complex The {rng.choice(objects)} conveys {e} because its brightness is {rng.random():.2f} and "
                   f"its colorfulness {rng.randint(0, 100)}%.\n\nPredict emotion: {e}")
    # Digits, punctuation, whitespace runs.
    for _ in range(1500):
        out.append(str(rng.randint(0, 10 ** rng.randint(1, 12))) + rng.choice(["", ".", ",5", "%", " km", "th"]))
    ascii_punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    spaces = [" ", "  ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u000b",
              "\u000c", "\u001c", "\u200b", "\u2009", "\u202f", "\u1680", "\ufeff"]
    for _ in range(2500):
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            parts.append(rng.choice(ws) if r < 0.4 else rng.choice(spaces) if r < 0.7
                         else "".join(rng.choice(ascii_punct) for _ in range(rng.randint(1, 4))))
        out.append("".join(parts))
    # Accents, combining marks (composed and decomposed).
    accented = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœšžßÀÉÎÕÜÇŁłŃńŚśŹźĄąĘęőűĞğİıŞş"
    for _ in range(2000):
        w = rng.choice(ws)
        chars = list(w)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            chars[i] = rng.choice(accented) if rng.random() < 0.6 else chars[i] + chr(rng.randint(0x300, 0x36F))
        s = "".join(chars)
        out.append(unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKC"]), s) if rng.random() < 0.5 else s)
    # CJK, other scripts, emoji and ZWJ sequences.
    for _ in range(1500):
        n = rng.randint(1, 12)
        block = rng.choice([(0x4E00, 0x9FFF), (0x3040, 0x30FF), (0xAC00, 0xD7A3), (0x0400, 0x04FF), (0x0590, 0x05FF),
                            (0x0600, 0x06FF), (0x0900, 0x097F), (0x0E00, 0x0E7F), (0x3400, 0x4DBF), (0x20000, 0x2A6DF)])
        s = "".join(chr(rng.randint(*block)) for _ in range(n))
        out.append(s if rng.random() < 0.5 else rng.choice(ws) + " " + s + " " + rng.choice(ws))
    emoji = ["\U0001F600", "\U0001F622", "\U0001F621", "\U0001F631", "\U0001F60D", "\u2764\ufe0f", "\U0001F44D\U0001F3FD",
             "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466", "\U0001F3F3\ufe0f\u200D\U0001F308",
             "\U0001F1EF\U0001F1F5", "\U0001F9D1\U0001F3FF\u200D\U0001F680", "\u263A", "\U0001F92F", "\U0001FAE0"]
    for _ in range(1500):
        out.append(" ".join(rng.choice(ws + emoji) for _ in range(rng.randint(1, 6))))
    # Control characters and special tokens written in the text.
    specials = ["</s>", "<s>", "<unk>", "[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[DEC]", "<pad>", "[cls]", "<S>"]
    for _ in range(1500):
        parts = []
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            parts.append(rng.choice(specials) if r < 0.35 else rng.choice(ws) if r < 0.7 else rng.choice(spaces)
                         if r < 0.85 else chr(rng.choice(list(range(0, 32)) + list(range(127, 160)))))
        out.append("".join(parts))
    # Greek capitals (str.lower()'s final sigma), canonical singletons and compositions, case mappings that
    # changed between Unicode versions.
    greek = ["ΟΔΟΣ", "ΣΑΣ", "ΟΣ́", "AΣ'B", "Σ", "ΣΣ",
             "ΑΣ.", "ΆΣ ΣΟΦΟΣ", "ἈΣͅ", "x­Σ"]
    odd = ["`", "Å", "Ω", "K", ";", "·", "̈́", "é", "Ȩ́", "ȩ́",
           "ẞ", "İ", "ı", "Ꭰ", "Ⴀ", "Ა", "ꭰ", "각", "각", "ୈ",
           "ୈ", "aᴖ5ᴖd́", "ཱི", "ཱུ", "ⳬ", "Ꟁ", "𐕰", "ͅ", "ẛ̣"]
    for _ in range(1500):
        parts = [rng.choice(greek + odd) if rng.random() < 0.6 else rng.choice(ws) for _ in range(rng.randint(1, 5))]
        out.append(rng.choice(["", " ", "-"]).join(parts))
    # Random Unicode scalar values (no surrogates, which UTF-8 cannot carry).
    for _ in range(3000):
        s = []
        for _ in range(rng.randint(1, 10)):
            cp = rng.randint(0, 0x10FFFF) if rng.random() < 0.5 else rng.randint(0, 0x2FFF)
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0xFFFD
            s.append(chr(cp))
        out.append("".join(s))
    seen, unique = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def lavis_llama():
    t = SentencePieceBackend(vocab_file=LLAMA, legacy=True, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    for k in [("pad_token", "[PAD]"), ("bos_token", "</s>"), ("eos_token", "</s>"), ("unk_token", "</s>")]:
        t.add_special_tokens({k[0]: k[1]})
    return t


def main():
    rng = random.Random(24)
    texts = corpus(rng)
    sp = spm.SentencePieceProcessor(model_file=LLAMA)
    vicuna = lavis_llama()
    bert = BertTokenizerLegacy(vocab_file=BERT, do_lower_case=True)
    bert.add_special_tokens({"bos_token": "[DEC]"})
    fast = BertTokenizer(vocab=BERT, do_lower_case=True)
    fast.add_special_tokens({"bos_token": "[DEC]"})
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        for text in texts:
            ids = sp.encode(text)
            rec = {"text": text, "sp": ids, "spdec": sp.decode(ids)}
            # LAVIS decodes generated ids with special tokens skipped, then str.strip()s the text.
            if sp.decode(ids).strip() != rec["spdec"]:
                rec["lavisdec"] = sp.decode(ids).strip()
            v = vicuna(text, add_special_tokens=False).input_ids
            if v != ids:
                rec["vicuna"] = v
            b = bert(text).input_ids
            rec["bert"] = b
            bf = fast(text).input_ids
            if bf != b:
                rec["bertfast"] = bf
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(len(texts), "strings written to", OUT, file=sys.stderr)
    disagreements(texts, bert, fast)
    variants(texts[::12])


def disagreements(texts, slow, fast):
    """The code points of the corpus on which the Python BertTokenizer and the tokenizers-library one disagree."""
    import unicodedata
    cps = sorted({ord(c) for t in texts for c in t})
    with open(os.path.join(RES, "bert-python-disagreements.txt"), "w", encoding="ascii") as f:
        f.write("# code point, category (Python unicodedata " + unicodedata.unidata_version + "): 'a' + it + 'b' or 'A' + it gets other ids"
                " from transformers' Python BertTokenizer than from the tokenizers library's\n")
        for cp in cps:
            # inside a word, and at the end of one (where str.lower() makes a capital sigma final)
            if any(slow(s).input_ids != fast(s).input_ids for s in ("a" + chr(cp) + "b", "A" + chr(cp))):
                f.write(f"{cp:04x} {unicodedata.category(chr(cp))}\n")


def variants(texts):
    """Other settings a SentencePiece BPE model may have, on LLaMA's pieces: each is encoded as sentencepiece does."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    base = pb.ModelProto()
    with open(LLAMA, "rb") as f:
        base.ParseFromString(f.read())

    def no_byte_fallback(m):
        m.trainer_spec.byte_fallback = False
        for p in m.pieces:   # sentencepiece refuses byte pieces without byte fallback
            if p.type == pb.ModelProto.SentencePiece.BYTE:
                p.type = pb.ModelProto.SentencePiece.UNUSED

    def squeezed_spaces_no_prefix(m):
        m.normalizer_spec.add_dummy_prefix = False
        m.normalizer_spec.remove_extra_whitespaces = True

    def user_defined_and_unused(m):
        for p in m.pieces:
            if p.piece in ("▁the", "ing", "▁emotion", "Pred", "▁am", ".)", "▁▁"):
                p.type = pb.ModelProto.SentencePiece.USER_DEFINED
            elif p.piece in ("ment", "▁to", "▁a", "er", "▁image", "▁excite", "us", "▁sad"):
                p.type = pb.ModelProto.SentencePiece.UNUSED

    out = {}
    for name, change in [("no-byte-fallback", no_byte_fallback), ("squeezed-spaces-no-prefix", squeezed_spaces_no_prefix),
                         ("user-defined-and-unused", user_defined_and_unused)]:
        m = pb.ModelProto()
        m.CopyFrom(base)
        change(m)
        path = os.path.join(RES, "llama-" + name + ".model.gz")
        data = m.SerializeToString()
        with gzip.open(path, "wb", compresslevel=9) as f:
            f.write(data)
        sp = spm.SentencePieceProcessor(model_proto=data)
        out[name] = [{"text": t, "sp": sp.encode(t), "pieces": sp.encode(t, out_type=str)} for t in texts]
    with gzip.open(os.path.join(RES, "llama-variants-reference.json.gz"), "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
