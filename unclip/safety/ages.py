"""Generated phrases that state an age under 18 ("12 year old", "aged 9", "14yo", "15 años")."""

from __future__ import annotations

from unclip.safety.termfile import Pattern, parse_pattern

_WORDS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
]
_AFTER = (
    "year old",
    "years old",
    "year olds",
    "yr old",
    "yrs old",
    "yo",
    "y o",
    "years",
    "yrs",
    "anos",
    "ano",
    "ans",
    "jahre",
    "jahre alt",
    "jahrig",
    "jahrige",
    "jahriger",
    "jahriges",
    "anni",
)
_BEFORE = ("aged", "age", "ages")


def minor_age_patterns() -> list[Pattern]:
    """Patterns for ages 1-17 written with digits or English number words, in the five languages."""
    out: list[Pattern] = []
    numbers = [str(n) for n in range(1, 18)] + _WORDS
    for number in numbers:
        for after in _AFTER:
            out.append(parse_pattern(f"{number} {after}", "<ages>"))
        for before in _BEFORE:
            if number.isdigit():
                out.append(parse_pattern(f"{before} {number}", "<ages>"))
        if number.isdigit():
            out.append(parse_pattern(f"{number}yo", "<ages>"))
    return out
