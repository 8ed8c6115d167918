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

from unclip.safety import classifier_cache
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
    """From the cache of the package's arrays when there is one (no sklearn import), else from the
    package, writing the cache for the next process."""
    key = classifier_cache.package_key()
    if key is not None:
        cached = classifier_cache.read(classifier_cache.cache_path(key))
        if cached is not None:
            return _from_arrays(cached)
    weights, arrays = _load_package()
    if key is not None and arrays is not None:
        try:
            classifier_cache.write(classifier_cache.cache_path(key), arrays)
        except OSError:
            pass  # a read-only home: every process loads the package, as before
    return weights


def _from_arrays(a: dict[str, np.ndarray]) -> _Weights:
    tokens = [str(t) for t in a["vocabulary_tokens"]]
    return _Weights(
        analyzer=classifier_cache.make_analyzer(
            bool(a["lowercase"]), str(a["token_pattern"]), [str(w) for w in a["stop_words"]]
        ),
        vocabulary=dict(zip(tokens, (int(i) for i in a["vocabulary_indices"]), strict=True)),
        idf=a["idf"],
        coef=a["coef"],
        intercept=a["intercept"],
        sigmoid_a=a["sigmoid_a"],
        sigmoid_b=a["sigmoid_b"],
    )


def _load_package() -> tuple[_Weights, dict[str, np.ndarray] | None]:
    """The weights from the package itself (imports sklearn), and the arrays to cache (None when the
    vectoriser is not the plain configuration the cache reproduces)."""
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
    weights = _Weights(
        analyzer=vectorizer.build_analyzer(),
        vocabulary=dict(vectorizer.vocabulary_),
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        coef=np.stack([np.asarray(f.estimator.coef_, dtype=np.float64).ravel() for f in folds]),
        intercept=np.array([float(np.ravel(f.estimator.intercept_)[0]) for f in folds]),
        sigmoid_a=np.array([float(f.calibrators[0].a_) for f in folds]),
        sigmoid_b=np.array([float(f.calibrators[0].b_) for f in folds]),
    )
    settings = classifier_cache.simple_analyzer_settings(vectorizer)
    if settings is None:
        return weights, None
    arrays = {
        "lowercase": np.array(settings["lowercase"]),
        "token_pattern": np.array(settings["token_pattern"]),
        "stop_words": np.array(settings["stop_words"], dtype=str),
        "vocabulary_tokens": np.array(list(weights.vocabulary), dtype=str),
        "vocabulary_indices": np.array(list(weights.vocabulary.values()), dtype=np.int64),
        "idf": weights.idf,
        "coef": weights.coef,
        "intercept": weights.intercept,
        "sigmoid_a": weights.sigmoid_a,
        "sigmoid_b": weights.sigmoid_b,
    }
    return weights, arrays


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
