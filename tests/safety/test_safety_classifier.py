"""The offensive-language classifier is alt-profanity-check's model, computed faster but identically."""

from __future__ import annotations

import sys

import pytest

from unclip.safety.classifier import OffensiveLanguageClassifier, shared_classifier
from unclip.safety.config import load_default
from unclip.safety.prompt_check import PromptChecker

SAMPLES = [
    "a cute cat on a sofa",
    "you stupid bitch",
    "hell on earth",
    "",
    "zzzz qqq",
    "a bastard sword",
    "Fuck you ASSHOLE!!",
    "shoot a photo of a dog",
    "the the the",
    "kill all of them",
    "a lovely day",
]


def test_probabilities_match_the_package() -> None:
    profanity_check = pytest.importorskip("profanity_check")
    expected = profanity_check.predict_prob(SAMPLES)
    got = [shared_classifier().probability(text) for text in SAMPLES]
    assert got == pytest.approx(list(expected), abs=1e-9)


def test_offensive_text_scores_high_and_plain_text_low() -> None:
    pytest.importorskip("profanity_check")
    classifier = shared_classifier()
    assert classifier.probability("you are a fucking idiot") > 0.95
    assert classifier.probability("a watercolor painting of a lighthouse") < 0.2


def test_classifier_counts_only_with_a_target() -> None:
    pytest.importorskip("profanity_check")
    checker = PromptChecker(load_default(), shared_classifier())
    aimed = checker.score("you look like a pile of crap")
    assert aimed.target and aimed.classifier is not None and aimed.classifier >= 0.9
    assert aimed.scores["harassment"] >= 0.9
    unaimed = checker.score("a bastard sword in hell")
    assert unaimed.classifier is not None and unaimed.classifier >= 0.9 and not unaimed.target
    assert unaimed.scores["harassment"] == 0.0


def test_missing_package_degrades_to_term_lists(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "profanity_check", None)  # as if alt-profanity-check were not installed
    classifier = OffensiveLanguageClassifier()
    ok, why = classifier.available()
    assert not ok and "alt-profanity-check" in why
    result = PromptChecker(load_default(), classifier).score("a nude woman")
    assert result.scores["sexual"] == 1.0
    assert (
        result.classifier is None and result.unavailable and result.unavailable[0].startswith("classifier:")
    )
