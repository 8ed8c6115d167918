"""The classifier's cached arrays give the package's probabilities without importing sklearn."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unclip.safety import classifier_cache
from unclip.safety.classifier import OffensiveLanguageClassifier

SAMPLES = [
    "a cute cat on a sofa",
    "you stupid bitch",
    "Fuck you ASSHOLE!!",
    "",
    "the the the",
    "Ünïcödé wörds and ÇAPS, naïve café",
    "kill_all of them 123 a1 b",
    "an apple\tand\na pear",
]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("profanity_check")
    monkeypatch.setenv("UNCLIP_CACHE", str(tmp_path))
    return tmp_path


def test_cached_arrays_give_the_packages_probabilities(cache: Path) -> None:
    import profanity_check

    first = OffensiveLanguageClassifier()  # loads the package, writes the cache
    assert first.available()[0]
    key = classifier_cache.package_key()
    assert key is not None and classifier_cache.cache_path(key).is_file()
    second = OffensiveLanguageClassifier()  # reads the cache
    expected = profanity_check.predict_prob(SAMPLES)
    assert [second.probability(t) for t in SAMPLES] == pytest.approx(list(expected), abs=1e-9)
    assert [first.probability(t) for t in SAMPLES] == [second.probability(t) for t in SAMPLES]


def test_analyzer_is_sklearns(cache: Path) -> None:
    from profanity_check import profanity_check as pc

    settings = classifier_cache.simple_analyzer_settings(pc.vectorizer)
    assert settings is not None
    ours = classifier_cache.make_analyzer(**settings)
    theirs = pc.vectorizer.build_analyzer()
    for text in SAMPLES:
        assert ours(text) == theirs(text)


def test_a_process_with_the_cache_imports_no_sklearn(cache: Path) -> None:
    OffensiveLanguageClassifier().available()  # writes the cache
    code = (
        "import sys; from unclip.safety.classifier import OffensiveLanguageClassifier as C; "
        "p = C().probability('you stupid bitch'); print(p > 0.9, 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ)
    )
    assert out.stdout.split() == ["True", "False"]


def test_a_damaged_cache_is_rebuilt(cache: Path) -> None:
    OffensiveLanguageClassifier().available()
    key = classifier_cache.package_key()
    assert key is not None
    path = classifier_cache.cache_path(key)
    path.write_bytes(b"not an npz")
    assert OffensiveLanguageClassifier().probability("you stupid bitch") > 0.9
    assert classifier_cache.read(path) is not None
