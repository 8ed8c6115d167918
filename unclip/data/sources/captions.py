"""Caption cleaning and the concept-level holdout split."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable

_SPACES = re.compile(r"\s+")
_LEGACY_WORDS = ("black", "white", "heavy")  # Unicode's dingbat-era prefixes ("black scissors" is grey)
_HAIR = re.compile(r"(.+): (red|curly|white|blond) hair")
_COLON_JOIN = {"family": " of ", "keycap": " "}


def to_ascii(text: str) -> str:
    """Fold accents and typographic quotes to ASCII ("Côte d’Ivoire" -> "Cote d'Ivoire"); drop the rest."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = unicodedata.normalize("NFKD", text)
    return text.encode("ascii", "ignore").decode("ascii")


def squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def short_name_caption(short_name: str) -> str:
    """emoji.json short names: "heavy_dollar_sign" -> "heavy dollar sign"."""
    return squash(to_ascii(short_name).replace("_", " ").replace("-", " ").lower())


def _join_after_colon(text: str) -> str:
    """ "family: man, woman, boy" -> "family of man, woman and boy"; "kiss: woman, man" -> "kiss, woman and man"."""
    head, tail = text.split(": ", 1)
    parts = tail.split(", ")
    if len(parts) > 1:
        tail = ", ".join(parts[:-1]) + " and " + parts[-1]
    return head + _COLON_JOIN.get(head, ", ") + tail


def clean_emoji_name(name: str, short_names: Iterable[str] = ()) -> str:
    """The emoji's Unicode/CLDR name as a caption: lowercase, ASCII, hair/family forms made readable.

    "GRINNING FACE WITH STAR EYES" -> "grinning face with star eyes"; "MAN: RED HAIR" -> "man with red
    hair"; "BLACK SCISSORS" -> "scissors" (a legacy colour word is dropped only when what is left is
    one of the emoji's own short names).
    """
    text = squash(to_ascii(name).lower().replace(" - ", " "))  # "congo - kinshasa flag"
    if m := _HAIR.fullmatch(text):
        text = f"{m.group(1)} with {m.group(2)} hair"
    elif text.endswith(": beard"):
        text = text[: -len(": beard")] + " with beard"
    elif text.endswith(": bald"):
        text = "bald " + text[: -len(": bald")]
    elif ": " in text:
        text = _join_after_colon(text)
    if text.endswith(" *"):
        text = text[:-1] + "asterisk"
    shorts = {short_name_caption(s) for s in short_names}
    words = text.split(" ")
    while len(words) > 1 and words[0] in _LEGACY_WORDS:
        words = words[1:]
        if " ".join(words) in shorts:
            return " ".join(words)
    return text


def alt_emoji_captions(caption: str, short_names: Iterable[str]) -> tuple[str, ...]:
    """Alternative captions from short names, minus codes ("flag-eg", "+1") and the main caption."""
    out: list[str] = []
    for s in short_names:
        alt = short_name_caption(s)
        if s.startswith("flag-") or len(re.findall(r"[a-z]", alt)) < 2:
            continue
        if alt != caption and alt not in out:
            out.append(alt)
    return tuple(out)


_BW = re.compile(r"\(\s*b\s*(?:and|&|/)\s*w\s*\)", re.IGNORECASE)
_TRAILING_NUM = re.compile(r"(?:[\s#]+\d+[a-z]?)+$")
_GLUED_NUM = re.compile(r"(?<=[a-z])\d+$")


def clean_title(title: str) -> str:
    """A clip-art title as a caption: "Crawfish (B and W)" -> "crawfish, black and white";
    "pin - yellow" -> "pin, yellow"; "Boy symbol 01" -> "boy symbol"; "24_ports_switch" -> "24 ports switch"."""
    text = to_ascii(html.unescape(title))
    bw = bool(_BW.search(text))
    text = _BW.sub(" ", text).replace("_", " ").replace("`", "'")
    text = re.sub(r"\s+-\s+", ", ", text)
    text = squash(text.lower()).strip(" ,.;:-")
    text = _TRAILING_NUM.sub("", text)
    text = _GLUED_NUM.sub("", text).strip(" ,.;:-")
    if bw:
        text += ", black and white"
    return squash(text)


def has_words(text: str, min_letters: int = 3) -> bool:
    return len(re.findall(r"[a-z]", text)) >= min_letters


def split_for(concept: str, holdout: float) -> str:
    """ "holdout" for a fixed pseudo-random `holdout` fraction of concepts, else "train".

    Depends only on the concept text, so every style of one concept lands in the same split, and the
    split is the same on every machine and every run.
    """
    if holdout <= 0:
        return "train"
    digest = hashlib.sha1(concept.encode("utf-8")).digest()
    return "holdout" if int.from_bytes(digest[:8], "big") / 2**64 < holdout else "train"
