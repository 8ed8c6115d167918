"""Obfuscation is undone before matching: homoglyphs, zero-width chars, spacing, leetspeak, punctuation."""

from __future__ import annotations

import pytest

from unclip.safety.normalize import fold, variants


def texts(prompt: str) -> set[str]:
    return {v.text for v in variants(prompt)}


@pytest.mark.parametrize(
    "raw",
    [
        "nudе",  # Cyrillic е
        "nuԁe",  # Cyrillic komi de
        "nυdε",  # Greek upsilon and epsilon
        "ｎｕｄｅ",  # fullwidth
        "𝐧𝐮𝐝𝐞",  # mathematical bold
        "ⓝⓤⓓⓔ",  # circled letters
        "ɴᴜᴅᴇ",  # small capitals
        "NuDe",  # mixed case
        "nu\u200bde",  # zero-width space
        "n\u200du\u200cd\u2060e\ufeff",  # joiners, word joiner, BOM
        "nu\u00adde",  # soft hyphen
        "n̶u̶d̶e̶",  # combining strike-through
        "nüdé",  # accents
    ],
)
def test_fold_undoes_lookalikes_and_invisibles(raw: str) -> None:
    assert fold(raw) == "nude"


@pytest.mark.parametrize(
    "raw",
    [
        "n u d e",
        "n.u.d.e",
        "n-u-d-e",
        "n_u_d_e",
        "n*u*d*e",
        "n . u . d . e",
        "nu.de",
        "nu-de",
        "n|u|d|e",
        "NUUUUDE",
        "nuuude",
    ],
)
def test_spacing_and_punctuation_inside_words(raw: str) -> None:
    assert "nude" in texts(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("p0rn", "porn"),
        ("s3x", "sex"),
        ("n@ked", "naked"),
        ("a$$hole", "asshole"),
        ("k1ll", "kill"),
        ("b1tch", "bitch"),
        ("h3r01n", "heroin"),
        ("5ex", "sex"),
        ("su1c1de", "suicide"),
        ("@$$", "ass"),
    ],
)
def test_leetspeak(raw: str, expected: str) -> None:
    assert expected in texts(raw)


def test_spaced_letters_inside_a_sentence_keep_a_run() -> None:
    found = variants("a n u d e w o m a n")
    assert any("anudewoman" in v.runs for v in found)


def test_plain_numbers_and_hyphenated_words_survive() -> None:
    assert "a 1024 px poster from 1999" in texts("a 1024 px poster from 1999")
    assert "a 14 year old" in texts("a 14-year-old")
    assert "the bomb shaped cake" in texts("the bomb-shaped cake")


def test_empty_and_whitespace_prompts() -> None:
    assert all(v.tokens == () for v in variants(""))
    assert all(v.tokens == () for v in variants(" \t\n\u200b "))
