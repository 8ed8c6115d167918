"""Parse term-list files into patterns.

Syntax of a term file (``data/terms/*.txt``), one entry per line::

    # a comment; blank lines are ignored
    [fr]                 # section header: the language of the entries below (informational)
    nude                 # a word; plurals (+s, +es) match too when the word has 3+ letters
    porn*                # a word prefix: porn, porno, pornographic ...
    child porn           # a phrase; also matches written as one word (childporn)
    kill* ~ {person}     # ~ skips up to 2 words (~3: up to 3); {person} is a group from groups.txt
    sexy @0.4            # weight (default 1.0): weak words only count in combination

The groups file uses the same syntax with ``[name]`` sections naming the groups; entries are phrases
(words, prefixes and other groups; no gaps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from unclip.safety.normalize import normalize_term

_WEIGHT = re.compile(r"\s@([0-9]*\.?[0-9]+)\s*$")
_GAP = re.compile(r"^~(\d?)$")
_GROUP = re.compile(r"^\{([a-z]+)\}$")
_SECTION = re.compile(r"^\[([\w/ -]+)\]$")


class TermFileError(ValueError):
    """A term file has a malformed line; the message names the file and line."""


@dataclass(frozen=True)
class Word:
    text: str
    prefix: bool = False

    def matches(self, token: str) -> bool:
        if self.prefix:
            return token.startswith(self.text)
        if token == self.text:
            return True
        if len(self.text) >= 3:
            return token == self.text + "s" or token == self.text + "es"
        return False


@dataclass(frozen=True)
class Gap:
    max_words: int = 2


@dataclass(frozen=True)
class GroupRef:
    name: str


Element = Word | Gap | GroupRef
Pattern = tuple[Element, ...]


@dataclass(frozen=True)
class Term:
    category: str
    pattern: Pattern
    weight: float
    source: str
    lang: str = ""
    text: str = field(default="", compare=False)


def parse_pattern(text: str, where: str) -> Pattern:
    elements: list[Element] = []
    for piece in normalize_term(text).split():
        gap = _GAP.match(piece)
        group = _GROUP.match(piece)
        if gap:
            elements.append(Gap(int(gap.group(1) or 2)))
        elif group:
            elements.append(GroupRef(group.group(1)))
        elif piece.endswith("*") and "*" not in piece[:-1] and len(piece) > 1:
            elements.append(Word(piece[:-1], prefix=True))
        elif re.fullmatch(r"[^\W_]+", piece):
            elements.append(Word(piece))
        else:
            raise TermFileError(f"{where}: cannot parse {piece!r} in {text!r}")
    if not elements or isinstance(elements[0], Gap) or isinstance(elements[-1], Gap):
        raise TermFileError(f"{where}: an entry must start and end with a word or group: {text!r}")
    return tuple(elements)


def _entries(path: Path, text: str) -> list[tuple[str, str, float, str]]:
    """(section, entry, weight, where) for each entry line."""
    out = []
    section = ""
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not line:
            continue
        where = f"{path.name}:{lineno}"
        header = _SECTION.match(line)
        if header:
            section = header.group(1).strip()
            continue
        entry, weight = split_weight(line, where)
        out.append((section, entry, weight, where))
    return out


def split_weight(line: str, where: str) -> tuple[str, float]:
    """``"sexy @0.4"`` -> ``("sexy", 0.4)``; no weight means 1.0."""
    m = _WEIGHT.search(" " + line)
    if not m:
        return line.strip(), 1.0
    weight = float(m.group(1))
    if not 0.0 < weight <= 1.0:
        raise TermFileError(f"{where}: weight must be in (0, 1], got {weight}")
    return line[: line.rindex("@")].strip(), weight


def parse_terms(path: Path, text: str, category: str) -> list[Term]:
    return [
        Term(category, parse_pattern(entry, where), weight, where, lang, entry)
        for lang, entry, weight, where in _entries(path, text)
    ]


def parse_groups(path: Path, text: str) -> dict[str, list[Pattern]]:
    groups: dict[str, list[Pattern]] = {}
    for name, entry, _weight, where in _entries(path, text):
        if not name:
            raise TermFileError(f"{where}: entry outside a [group] section")
        pattern = parse_pattern(entry, where)
        if any(isinstance(e, Gap) for e in pattern):
            raise TermFileError(f"{where}: group entries cannot contain ~ gaps: {entry!r}")
        groups.setdefault(name, []).append(pattern)
    return groups
