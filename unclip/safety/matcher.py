"""Find term-list patterns in normalised token sequences.

Patterns are indexed by their first word (exact words in a dict, prefixes in a dict probed with each
prefix of a token), so a prompt costs a handful of dict look-ups per token rather than one regex per term.
Patterns that start with a group are expanded at build time. Phrases made only of words are also indexed
written as one word (``child porn`` -> ``childporn``) and searched inside spaced-letter runs
(``c h i l d p o r n``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from unclip.safety.normalize import Variant
from unclip.safety.termfile import Element, Gap, GroupRef, Pattern, Term, TermFileError, Word

MASK = "#"
MIN_RUN_TERM = 4  # shortest term searched inside spaced-letter runs (shorter ones must match a whole run)


@dataclass(frozen=True)
class Match:
    term: int
    start: int
    end: int


class TermMatcher:
    """Matches a list of :class:`Term` (any categories) against :class:`Variant` token sequences."""

    def __init__(self, terms: Sequence[Term], groups: Mapping[str, Sequence[Pattern]]) -> None:
        self.terms = list(terms)
        self._groups = {name: [tuple(p) for p in alts] for name, alts in groups.items()}
        self._exact: dict[str, list[tuple[int, Word, Pattern]]] = {}
        self._prefix: dict[str, list[tuple[int, Word, Pattern]]] = {}
        self._run_terms: list[tuple[str, int]] = []
        self._max_prefix = 0
        for index, term in enumerate(self.terms):
            for pattern in self._expand_head(term.pattern, term.source):
                self._index(index, pattern)
                joined = _joined(pattern)
                if joined is not None and len(pattern) > 1:
                    self._index(index, (joined,))
                if joined is not None and len(joined.text) >= MIN_RUN_TERM:
                    self._run_terms.append((joined.text, index))

    def _expand_head(self, pattern: Pattern, where: str) -> list[Pattern]:
        head = pattern[0]
        if not isinstance(head, GroupRef):
            for element in pattern:
                if isinstance(element, GroupRef) and element.name not in self._groups:
                    raise TermFileError(f"{where}: unknown group {{{element.name}}}")
            return [pattern]
        if head.name not in self._groups:
            raise TermFileError(f"{where}: unknown group {{{head.name}}}")
        out: list[Pattern] = []
        for alternative in self._groups[head.name]:
            out.extend(self._expand_head(alternative + pattern[1:], where))
        return out

    def _index(self, index: int, pattern: Pattern) -> None:
        head = pattern[0]
        assert isinstance(head, Word)
        table = self._prefix if head.prefix else self._exact
        table.setdefault(head.text, []).append((index, head, pattern[1:]))
        if head.prefix:
            self._max_prefix = max(self._max_prefix, len(head.text))

    def _candidates(self, token: str) -> Iterable[tuple[int, Word, Pattern]]:
        for key in {
            token,
            token[:-1] if token.endswith("s") else "",
            token[:-2] if token.endswith("es") else "",
        }:
            if key:
                yield from self._exact.get(key, ())
        for k in range(1, min(len(token), self._max_prefix) + 1):
            yield from self._prefix.get(token[:k], ())

    def _match(self, rest: Sequence[Element], tokens: Sequence[str], pos: int) -> int:
        """End position of ``rest`` matched at ``pos`` (shortest), or -1."""
        if not rest:
            return pos
        element, tail = rest[0], rest[1:]
        if isinstance(element, Word):
            if pos < len(tokens) and element.matches(tokens[pos]):
                return self._match(tail, tokens, pos + 1)
            return -1
        if isinstance(element, Gap):
            for skip in range(element.max_words + 1):
                if pos + skip > len(tokens):
                    break
                end = self._match(tail, tokens, pos + skip)
                if end >= 0:
                    return end
            return -1
        for alternative in self._groups[element.name]:
            end = self._match(tuple(alternative) + tuple(tail), tokens, pos)
            if end >= 0:
                return end
        return -1

    def find(self, tokens: Sequence[str]) -> list[Match]:
        """Every (term, span) found in ``tokens``; masked tokens never match."""
        found: list[Match] = []
        seen: set[tuple[int, int]] = set()
        for pos, token in enumerate(tokens):
            if token == MASK:
                continue
            for index, head, rest in self._candidates(token):
                if (index, pos) in seen or not head.matches(token):
                    continue
                end = self._match(rest, tokens, pos + 1)
                if end >= 0 and MASK not in tokens[pos:end]:
                    seen.add((index, pos))
                    found.append(Match(index, pos, end))
        return found

    def find_in_runs(self, runs: Sequence[str]) -> set[int]:
        """Terms found anywhere inside spaced-letter runs (``a n u d e w o m a n`` -> ``anudewoman``)."""
        hits: set[int] = set()
        for run in runs:
            for text, index in self._run_terms:
                if text in run:
                    hits.add(index)
        return hits

    def mask(self, tokens: Sequence[str]) -> tuple[str, ...]:
        """``tokens`` with every span matched by any term replaced by :data:`MASK` (used for allow-lists)."""
        out = list(tokens)
        for match in self.find(tokens):
            for i in range(match.start, match.end):
                out[i] = MASK
        return tuple(out)

    def terms_in(self, variant: Variant, runs: bool = True) -> set[int]:
        hits = {m.term for m in self.find(variant.tokens)}
        if runs and variant.runs:
            hits |= self.find_in_runs(variant.runs)
        return hits


def _joined(pattern: Pattern) -> Word | None:
    """The one-word form of a phrase made only of words (only the last may be a prefix), else None."""
    if not all(isinstance(e, Word) for e in pattern):
        return None
    words = [e for e in pattern if isinstance(e, Word)]
    if any(w.prefix for w in words[:-1]):
        return None
    return Word("".join(w.text for w in words), prefix=words[-1].prefix)
