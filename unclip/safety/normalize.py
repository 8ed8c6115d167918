"""Turn a prompt into the token sequences the term lists are matched against.

Obfuscation is undone in layers, each cheap:

1. NFKC folds fullwidth, circled, mathematical and other compatibility letters (``ｎｕｄｅ`` -> ``nude``).
2. A look-alike table maps Cyrillic/Greek/small-capital homoglyphs to Latin (``nudе``, Cyrillic ``е``).
3. Case folding, then accents, combining marks and invisible format characters are dropped
   (zero-width spaces and joiners, soft hyphens, word joiners, variation selectors, tag characters).
4. Leetspeak digits and symbols inside words become letters (``p0rn``, ``n@ked``, ``a$$``); ``1`` and ``|``
   are tried both as ``i`` and as ``l``. The un-leeted text is always kept too (ages such as ``12-year-old``).
5. Punctuation is handled twice: once as a word break (``bomb-shaped`` -> ``bomb shaped``) and once removed
   inside words (``n.u.d.e`` -> ``nude``).
6. Letters repeated three or more times are squeezed (``nuuuude`` -> ``nude``); x, k and w keep three
   (xxx, kkk).
7. Runs of three or more single characters (``n u d e``) are joined into one token and also kept as a
   separate "run" string, which the matcher searches without word boundaries.

Each combination that differs is one :class:`Variant`; a prompt usually yields one or two.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

LEET_I = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "+": "t",
        "€": "e",
        "£": "l",
        "¢": "c",
    }
)
LEET_L = str.maketrans({"1": "l", "|": "l", "!": "l"})
_LEET_CHARS = frozenset("0134578 9@$!|+€£¢".replace(" ", ""))
_EDGE_PUNCT = ".,;:?!\"'()[]{}<>«»“”‘’…-–—_/\\*~`^"
_WORD_PUNCT = re.compile(r"(?<=[^\W_])(?:[^\w\s]|_)+(?=[^\W_])")
_ANY_PUNCT = re.compile(r"(?:[^\w\s]|_)+")
_SQUEEZE = re.compile(r"([^\Wxkw\d_])\1{2,}")
_SQUEEZE_XKW = re.compile(r"([xkw])\1{3,}")
_SPACES = re.compile(r"\s+")
_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cc", "Co", "Cs"})


@dataclass(frozen=True)
class Variant:
    """One normalised reading of a prompt: its word tokens and its joined spaced-letter runs."""

    tokens: tuple[str, ...]
    runs: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@lru_cache(maxsize=1)
def _homoglyph_table() -> dict[int, str]:
    raw = json.loads(resources.files("unclip.safety").joinpath("data/homoglyphs.json").read_text("utf-8"))
    return {ord(k): v for k, v in raw["map"].items()}


def fold(text: str) -> str:
    """Steps 1-3: compatibility fold, homoglyphs to Latin, case fold, drop accents and invisible chars."""
    text = unicodedata.normalize("NFKC", text).translate(_homoglyph_table()).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    kept = []
    for ch in decomposed:
        if ch in "\t\n\r":
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROP_CATEGORIES:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


def _unleet_token(token: str, table: dict[int, str]) -> str:
    core = token.strip(_EDGE_PUNCT)
    if not core or not any(c in _LEET_CHARS for c in core):
        return token
    has_letter = any(c.isalpha() for c in core)
    only_symbols = all(not c.isalnum() for c in core)
    if not has_letter and not (only_symbols and len(core) >= 2):
        return token  # plain numbers such as 1024 or 1080 stay numbers
    start = token.index(core)
    return token[:start] + core.translate(table) + token[start + len(core) :]


def unleet(text: str, variant: str) -> str:
    """Map leetspeak characters to letters in every word that contains a letter ("i" or "l" reading)."""
    first = LEET_I if variant == "i" else {**LEET_I, **LEET_L}
    return " ".join(_unleet_token(tok, first) for tok in text.split())


def _tokens_and_runs(text: str) -> Variant:
    text = _SQUEEZE_XKW.sub(r"\1\1\1", _SQUEEZE.sub(r"\1", text))
    raw = _SPACES.sub(" ", text).strip().split(" ") if text.strip() else []
    tokens: list[str] = []
    runs: list[str] = []
    i = 0
    while i < len(raw):
        j = i
        while j < len(raw) and len(raw[j]) == 1:
            j += 1
        if j - i >= 3:
            run = "".join(raw[i:j])
            tokens.append(run)
            runs.append(run)
            i = j
        else:
            tokens.extend(raw[i : max(j, i + 1)])
            i = max(j, i + 1)
    return Variant(tuple(tokens), tuple(runs))


def split_punct(text: str) -> str:
    """Every punctuation character is a word break."""
    return _ANY_PUNCT.sub(" ", text)


def join_punct(text: str) -> str:
    """Punctuation between letters is deleted (``n.u.d.e`` -> ``nude``); elsewhere it is a word break."""
    return _ANY_PUNCT.sub(" ", _WORD_PUNCT.sub("", text))


def variants(text: str) -> tuple[Variant, ...]:
    """All distinct normalised readings of ``text`` (plain first)."""
    folded = fold(text)
    readings = [folded]
    if any(c in _LEET_CHARS for c in folded):
        for which in ("i", "l"):
            readings.append(unleet(folded, which))
    out: list[Variant] = []
    seen: set[tuple[str, ...]] = set()
    for reading in dict.fromkeys(readings):
        for form in (split_punct(reading), join_punct(reading)):
            variant = _tokens_and_runs(form)
            if variant.tokens not in seen:
                seen.add(variant.tokens)
                out.append(variant)
    return tuple(out)


def normalize_term(term: str) -> str:
    """How a term-list entry is normalised: fold and split punctuation, keeping ``*``, ``~`` and braces."""
    folded = fold(term)
    return _SPACES.sub(" ", re.sub(r"[^\w\s*~{}]|_", " ", folded)).strip()
