#!/usr/bin/env python3
"""The Unicode data that BERT's Python tokenizer reads, as the Python that made the reference ids has it.

Writes emovit-text/src/main/resources/org/emovit/text/bert-unicode.txt.gz, which WordPieceTokenizer loads so that
its ids do not depend on the JDK's Unicode version (JDK 17 has Unicode 13, JDK 25 has 16; transformers' Python
tokenizer uses the interpreter's unicodedata, 14.0 in Python 3.11). Sections, hexadecimal code points:
  @version  unicodedata.unidata_version
  @class    runs "start class": C category C* (removed), Z Zs (a space), P P* (punctuation), M Mn (an accent), O other
  @ccc      "cp ccc" for every canonical combining class that is not 0 (NFD's canonical order)
  @lower    "cp seq": str.lower() of the single character, where it is not the character
  @nfd      "cp seq": the full canonical decomposition, where there is one (Hangul syllables excepted: algorithmic)
  @sigma    runs "start flag" for str.lower()'s final-sigma rule: I case-ignorable, K cased, O neither
Run: /tmp/refenv/bin/python tools/tokenizer-reference/make_unicode_table.py (any Python 3.11).
"""
import gzip, os, unicodedata as u

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "emovit-text/src/main/resources/org/emovit/text/bert-unicode.txt.gz")


def klass(c):
    cat = u.category(c)
    return "C" if cat.startswith("C") else "Z" if cat == "Zs" else "P" if cat.startswith("P") else "M" if cat == "Mn" else "O"


def sigma(c):
    alone = "A" + c + "\u03a3"
    before = (c + "\u03a3").lower().endswith("\u03c2")
    after_cased = alone.lower().endswith("\u03c2")
    if after_cased and not before:
        return "I"
    return "K" if before else "O"


def runs(f, fn):
    last = None
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            v = "C" if fn is klass else "O"
        else:
            v = fn(chr(cp))
        if v != last:
            f.write(f"{cp:x} {v}\n")
            last = v


def hexseq(s):
    return " ".join(f"{ord(x):x}" for x in s)


with gzip.open(OUT, "wt", encoding="ascii", compresslevel=9) as f:
    f.write(f"@version\n{u.unidata_version}\n@class\n")
    runs(f, klass)
    f.write("@ccc\n")
    for cp in range(0x110000):
        if not 0xD800 <= cp <= 0xDFFF and u.combining(chr(cp)):
            f.write(f"{cp:x} {u.combining(chr(cp))}\n")
    f.write("@lower\n")
    for cp in range(0x110000):
        c = chr(cp)
        if not 0xD800 <= cp <= 0xDFFF and cp != 0x3A3 and c.lower() != c:
            f.write(f"{cp:x} {hexseq(c.lower())}\n")
    f.write("@nfd\n")
    for cp in range(0x110000):
        c = chr(cp)
        if not 0xD800 <= cp <= 0xDFFF and not 0xAC00 <= cp <= 0xD7A3 and u.normalize("NFD", c) != c:
            f.write(f"{cp:x} {hexseq(u.normalize('NFD', c))}\n")
    f.write("@sigma\n")
    runs(f, sigma)
print(OUT)
