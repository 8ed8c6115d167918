"""Load the shipped term lists (plus a policy's extra terms and phrases) into matchers, once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from unclip.safety.ages import minor_age_patterns
from unclip.safety.categories import CONTEXT_FILES, INFRINGEMENT, PUBLIC_FIGURES, TERM_FILES
from unclip.safety.matcher import TermMatcher
from unclip.safety.termfile import Pattern, Term, parse_groups, parse_pattern, parse_terms, split_weight

NAMES_SECTION = "names"
# Categories of names (people, characters, brands, artists): matched apart from the harm lists, with their
# own allow phrases (allow.txt [names]), so a harm list's benign phrase ("coca cola" against drug words)
# does not hide a name, nor a name's benign phrase ("trump card") a harm word.
NAME_CATEGORIES = (PUBLIC_FIGURES, INFRINGEMENT)
_lock = threading.Lock()


@dataclass(frozen=True)
class Lexicon:
    harm: TermMatcher  # every text category except the name categories, plus the context lists
    names: TermMatcher  # public figures and infringement (characters, brands, living artists)
    allow: TermMatcher  # benign phrases masked before harm matching and the classifier
    names_allow: TermMatcher  # phrases masked before public-figure matching ("trump card")


def _read(name: str) -> tuple[Path, str]:
    ref = resources.files("unclip.safety").joinpath(f"data/terms/{name}")
    return Path(name), ref.read_text("utf-8")


@lru_cache(maxsize=1)
def groups() -> dict[str, list[Pattern]]:
    found = parse_groups(*_read("groups.txt"))
    found["minorage"] = minor_age_patterns()
    return found


def _dedupe(terms: list[Term]) -> list[Term]:
    seen: set[tuple[str, tuple]] = set()
    out = []
    for term in terms:
        key = (term.category, term.pattern)
        if key not in seen:
            seen.add(key)
            out.append(term)
    return out


@lru_cache(maxsize=1)
def shipped_terms() -> tuple[Term, ...]:
    terms: list[Term] = []
    for category, name in {**TERM_FILES, **CONTEXT_FILES}.items():
        terms.extend(parse_terms(*_read(name), category=category))
    return tuple(_dedupe(terms))


@lru_cache(maxsize=1)
def _allow_terms() -> tuple[tuple[Term, ...], tuple[Term, ...]]:
    parsed = parse_terms(*_read("allow.txt"), category="_allow")
    names = tuple(t for t in parsed if t.lang == NAMES_SECTION)
    harm = tuple(t for t in parsed if t.lang != NAMES_SECTION)
    return harm, names


def _extra(category: str, entries: tuple[str, ...], where: str) -> list[Term]:
    terms = []
    for line in entries:
        entry, weight = split_weight(line, where)
        terms.append(Term(category, parse_pattern(entry, where), weight, where, "", entry))
    return terms


def load_lexicon(
    extra_terms: tuple[tuple[str, tuple[str, ...]], ...] = (), allow_phrases: tuple[str, ...] = ()
) -> Lexicon:
    """The matchers for the shipped lists plus ``extra_terms`` ((category, entries) pairs) and phrases."""
    with _lock:
        return _load(extra_terms, allow_phrases)


@lru_cache(maxsize=8)
def _load(extra_terms: tuple[tuple[str, tuple[str, ...]], ...], allow_phrases: tuple[str, ...]) -> Lexicon:
    terms = list(shipped_terms())
    for category, entries in extra_terms:
        terms.extend(_extra(category, entries, f"policy extra_terms ({category})"))
    terms = _dedupe(terms)
    harm_allow, names_allow = _allow_terms()
    allow = list(harm_allow) + _extra("_allow", allow_phrases, "policy allow_phrases")
    return Lexicon(
        harm=TermMatcher([t for t in terms if t.category not in NAME_CATEGORIES], groups()),
        names=TermMatcher([t for t in terms if t.category in NAME_CATEGORIES], groups()),
        allow=TermMatcher(allow, groups()),
        names_allow=TermMatcher(list(names_allow), groups()),
    )
