"""The offensive-language classifier shipped by ``alt-profanity-check``, evaluated without sklearn overhead.

The package's model is a TF-IDF vectoriser plus a ``CalibratedClassifierCV`` of linear SVMs with sigmoid
calibration. Its own ``predict_prob`` costs ~6 ms per call in sklearn's input validation; here the same
weights are read once into arrays and a prompt costs a few dozen microseconds. The probability is the
same as the package's (checked in tests/safety/test_safety_classifier.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from unclip.safety.lazy import Lazy

INSTALL_HINT = "install alt-profanity-check (pip install 'alt-profanity-check==1.9.1')"


@dataclass(frozen=True)
class _Weights:
    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray  # [features]
    coef: np.ndarray  # [folds, features]
    intercept: np.ndarray  # [folds]
    sigmoid_a: np.ndarray  # [folds]
    sigmoid_b: np.ndarray  # [folds]


def _load() -> _Weights:
    try:
        from profanity_check import profanity_check as pc  # loads the joblib model once
    except Exception as exc:  # ImportError, or a scikit-learn version the pickled model cannot load
        raise RuntimeError(
            f"offensive-language classifier unavailable ({exc.__class__.__name__}: {exc}); {INSTALL_HINT}"
        ) from exc
    vectorizer, model = pc.vectorizer, pc.model
    folds = model.calibrated_classifiers_
    if list(model.classes_) != [0, 1] or any(len(f.calibrators) != 1 for f in folds):
        raise RuntimeError("unexpected alt-profanity-check model layout; " + INSTALL_HINT)
    return _Weights(
        analyzer=vectorizer.build_analyzer(),
        vocabulary=dict(vectorizer.vocabulary_),
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        coef=np.stack([np.asarray(f.estimator.coef_, dtype=np.float64).ravel() for f in folds]),
        intercept=np.array([float(np.ravel(f.estimator.intercept_)[0]) for f in folds]),
        sigmoid_a=np.array([float(f.calibrators[0].a_) for f in folds]),
        sigmoid_b=np.array([float(f.calibrators[0].b_) for f in folds]),
    )


class OffensiveLanguageClassifier:
    """``probability(text)`` in [0, 1] that ``text`` is offensive; loads the model on first use."""

    def __init__(self) -> None:
        self._weights: Lazy[_Weights] = Lazy(_load)

    def available(self) -> tuple[bool, str]:
        try:
            self._weights.get()
        except RuntimeError as exc:
            return False, str(exc)
        return True, "alt-profanity-check model loaded"

    def probability(self, text: str) -> float:
        w = self._weights.get()
        counts: dict[int, int] = {}
        for token in w.analyzer(text):
            index = w.vocabulary.get(token)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tfidf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts)) * w.idf[idx]
            tfidf /= math.sqrt(float(tfidf @ tfidf))
            decision = w.coef[:, idx] @ tfidf + w.intercept
        else:
            decision = w.intercept.copy()
        # sklearn's _SigmoidCalibration: p = 1 / (1 + exp(a * f + b)), averaged over the CV folds.
        return float(np.mean(1.0 / (1.0 + np.exp(w.sigmoid_a * decision + w.sigmoid_b))))


_shared = OffensiveLanguageClassifier()


def shared_classifier() -> OffensiveLanguageClassifier:
    """The process-wide instance (the model is loaded once, by the first thread that needs it)."""
    return _shared
