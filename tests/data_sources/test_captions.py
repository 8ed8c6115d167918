from __future__ import annotations

import pytest

from unclip.data.sources.captions import alt_emoji_captions, clean_emoji_name, clean_title, split_for


@pytest.mark.parametrize(
    ("name", "shorts", "caption"),
    [
        ("GRINNING FACE WITH STAR EYES", [], "grinning face with star eyes"),
        ("T-SHIRT", ["shirt", "tshirt"], "t-shirt"),
        ("NIGHT WITH STARS", [], "night with stars"),
        ("MAN: RED HAIR", [], "man with red hair"),
        ("WOMAN: BALD", [], "bald woman"),
        ("PERSON: BEARD", [], "person with beard"),
        ("FAMILY: MAN, WOMAN, BOY", [], "family of man, woman and boy"),
        ("KISS: WOMAN, MAN", [], "kiss, woman and man"),
        ("KEYCAP: *", [], "keycap asterisk"),
        ("BLACK SCISSORS", ["scissors"], "scissors"),
        ("HEAVY BLACK HEART", ["heart"], "heart"),
        ("BLACK HEART", ["black_heart"], "black heart"),
        ("Côte d’Ivoire Flag", ["flag-ci"], "cote d'ivoire flag"),
        ("Congo - Kinshasa Flag", ["flag-cd"], "congo kinshasa flag"),
    ],
)
def test_clean_emoji_name(name: str, shorts: list[str], caption: str) -> None:
    assert clean_emoji_name(name, shorts) == caption


def test_alt_captions_drop_codes_and_duplicates() -> None:
    assert alt_emoji_captions("t-shirt", ["shirt", "tshirt", "t-shirt"]) == ("shirt", "tshirt", "t shirt")
    assert alt_emoji_captions("egypt flag", ["flag-eg"]) == ()
    assert alt_emoji_captions("thumbs up sign", ["+1", "thumbsup"]) == ("thumbsup",)
    assert alt_emoji_captions("family of man and boy", ["man-boy"]) == ("man boy",)


@pytest.mark.parametrize(
    ("title", "caption"),
    [
        ("Crawfish (B and W)", "crawfish, black and white"),
        ("pin - yellow", "pin, yellow"),
        ("Boy symbol 01", "boy symbol"),
        ("guitar1", "guitar"),
        ("24_ports_switch", "24 ports switch"),
        ("Chodovian&#39;s Dog", "chodovian's dog"),
        ("BlueMan#203", "blueman"),
    ],
)
def test_clean_title(title: str, caption: str) -> None:
    assert clean_title(title) == caption


def test_split_is_deterministic_and_near_the_fraction() -> None:
    concepts = [f"concept {i}" for i in range(4000)]
    splits = [split_for(c, 0.1) for c in concepts]
    assert splits == [split_for(c, 0.1) for c in concepts]
    assert 0.08 < splits.count("holdout") / len(splits) < 0.12
    assert {split_for(c, 0.0) for c in concepts} == {"train"}
    # a larger fraction holds out a superset: raising it never moves a concept back into training
    assert all(split_for(c, 0.3) == "holdout" for c, s in zip(concepts, splits) if s == "holdout")
