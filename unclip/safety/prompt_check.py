"""Score a prompt in every text category.

Per normalised variant of the prompt (normalize.py): benign phrases are masked (allow.txt), then the term
lists are matched. A category's score is ``1 - prod(1 - weight)`` over its distinct matched entries, so one
strong entry (weight 1) decides alone and weak ones (say 0.4) need company. Two context rules follow:

* sexual/minors: a sexual match together with a minor reference (child, 12 year old, schoolgirl ...) scores
  ``1 - (1 - sexual)^2`` in sexual/minors (the sexual evidence counts twice), besides the explicit list.
* harassment: a match together with a target ("you", "my boss", "my ex" ...) likewise counts twice; the
  offensive-language classifier's probability counts towards its category when it reaches its threshold
  (and, by default, only when the prompt has a target).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from unclip.safety.categories import (
    HARASSMENT,
    MINOR_CONTEXT,
    SEXUAL,
    SEXUAL_MINORS,
    TARGET_CONTEXT,
    TEXT_CATEGORIES,
)
from unclip.safety.classifier import OffensiveLanguageClassifier
from unclip.safety.config import PolicyConfig
from unclip.safety.lexicon import Lexicon, load_lexicon
from unclip.safety.matcher import MASK, TermMatcher
from unclip.safety.normalize import Variant, variants


@dataclass
class PromptScores:
    scores: dict[str, float]
    matched: dict[str, list[str]] = field(default_factory=dict)  # category -> why: term sources, rules
    minor: bool = False
    target: bool = False
    classifier: float | None = None
    unavailable: tuple[str, ...] = ()


def _combine(weights: Iterable[float]) -> float:
    keep = 1.0
    for weight in weights:
        keep *= 1.0 - weight
    return 1.0 - keep


def _twice(score: float) -> float:
    return 1.0 - (1.0 - score) ** 2


class PromptChecker:
    def __init__(self, config: PolicyConfig, classifier: OffensiveLanguageClassifier | None) -> None:
        self.config = config
        self.classifier = classifier if config.prompt.classifier else None
        extra = tuple((c, r.extra_terms) for c, r in config.categories.items() if r.extra_terms)
        self._extra = extra
        self._lexicon: Lexicon | None = None

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = load_lexicon(self._extra, self.config.prompt.allow_phrases)
        return self._lexicon

    def _hits(self, matcher: TermMatcher, allow: TermMatcher, forms: tuple[Variant, ...]) -> set[int]:
        hits: set[int] = set()
        for form in forms:
            masked = Variant(allow.mask(form.tokens), form.runs)
            hits |= matcher.terms_in(masked)
        return hits

    def reason(self, result: PromptScores, category: str) -> str:
        """Why ``category`` scored: term-list lines and rules, never the prompt's own words."""
        why = result.matched.get(category, [])
        more = f" and {len(why) - 4} more" if len(why) > 4 else ""
        return f"{category}: " + ", ".join(why[:4]) + more

    def score(self, text: str) -> PromptScores:
        lexicon = self.lexicon
        forms = variants(text)
        weights: dict[str, list[float]] = {c: [] for c in TEXT_CATEGORIES}
        matched: dict[str, list[str]] = {}
        context: set[str] = set()
        hits = [(lexicon.harm, i) for i in self._hits(lexicon.harm, lexicon.allow, forms)]
        hits += [(lexicon.names, i) for i in self._hits(lexicon.names, lexicon.names_allow, forms)]
        for matcher, index in hits:
            term = matcher.terms[index]
            if term.category.startswith("_"):
                context.add(term.category)
                continue
            weights[term.category].append(term.weight)
            matched.setdefault(term.category, []).append(term.source)
        scores = {c: _combine(w) for c, w in weights.items()}
        result = PromptScores(scores, matched, MINOR_CONTEXT in context, TARGET_CONTEXT in context)

        if result.minor and scores[SEXUAL] > 0.0:
            scores[SEXUAL_MINORS] = max(scores[SEXUAL_MINORS], _twice(scores[SEXUAL]))
            matched.setdefault(SEXUAL_MINORS, []).append("sexual terms with a minor reference")
        if result.target and scores[HARASSMENT] > 0.0:
            scores[HARASSMENT] = _twice(scores[HARASSMENT])
            matched[HARASSMENT].append("aimed at a person")
        if self.classifier is not None:
            self._apply_classifier(forms, lexicon.allow, result)
        return result

    def _apply_classifier(self, forms: tuple[Variant, ...], allow: TermMatcher, result: PromptScores) -> None:
        settings = self.config.prompt
        assert self.classifier is not None
        ok, why = self.classifier.available()
        if not ok:
            result.unavailable = (f"classifier: {why}",)
            return
        texts = {" ".join(t for t in allow.mask(f.tokens) if t != MASK) for f in forms}
        probability = max(self.classifier.probability(t) for t in texts)
        result.classifier = probability
        if probability >= settings.classifier_threshold and (
            result.target or not settings.classifier_needs_target
        ):
            category = settings.classifier_category
            result.scores[category] = max(result.scores[category], probability)
            result.matched.setdefault(category, []).append(f"offensive-language classifier {probability:.2f}")
