"""Policy files: the shipped default, TOML/JSON overlays, and clear errors naming the file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unclip.errors import UnclipError
from unclip.safety import ALL_CATEGORIES, Policy, PolicyFileError


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_policy_covers_every_category() -> None:
    config = Policy.default().config
    assert set(config.categories) == set(ALL_CATEGORIES)
    assert all(rule.action == "refuse" for rule in config.categories.values())
    assert config.categories["faces"].images == ("upload",)
    assert config.categories["sexual"].images == ("upload", "output")


def test_toml_overlay_changes_only_what_it_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
name = "lenient"
[categories.public-figures]
action = "flag"
[categories.faces]
action = "allow"
""",
    )
    policy = Policy.from_file(path)
    assert policy.config.name == "lenient" and policy.config.source == str(path)
    assert policy.config.categories["public-figures"].action == "flag"
    assert policy.config.categories["sexual"].action == "refuse"
    decision = policy.check_prompt("Barack Obama eating a burger")
    assert decision.allowed and decision.action == "flag" and decision.category == "public-figures"
    assert not policy.check_prompt("a nude woman").allowed


def test_json_policy_and_allow_action(tmp_path: Path) -> None:
    data = {"categories": {"public-figures": {"action": "allow"}, "sexual": {"threshold": 1.0}}}
    policy = Policy.from_file(write(tmp_path, json.dumps(data), "policy.json"))
    decision = policy.check_prompt("Barack Obama eating a burger")
    assert decision.allowed and decision.action == "allow" and decision.category is None
    assert policy.check_prompt("a sexy woman in lingerie").allowed  # 0.64 < 1.0
    assert not policy.check_prompt("a nude woman").allowed  # 1.0 >= 1.0


def test_extra_terms_and_allow_phrases(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[prompt]
allow_phrases = ["naked flamingo cocktail"]
[categories.illegal]
extra_terms = ["jaywalk*", "fireworks ~3 after midnight @0.6"]
""",
    )
    policy = Policy.from_file(path)
    assert policy.check_prompt("a jaywalking pedestrian").category == "illegal"
    decision = policy.check_prompt("fireworks in the park after midnight")
    assert decision.category == "illegal" and decision.score == pytest.approx(0.6)
    assert policy.check_prompt("a naked flamingo cocktail").allowed
    assert not Policy.default().check_prompt("a naked flamingo cocktail").allowed


@pytest.mark.parametrize(
    "text, key",
    [
        ("[categories.sexual]\ntreshold = 0.4\n", "categories.sexual.treshold"),
        ('[categories.sexual]\naction = "block"\n', "categories.sexual.action"),
        ("[categories.sexual]\nthreshold = 1.5\n", "categories.sexual.threshold"),
        ('[categories.sexual]\nthreshold = "high"\n', "categories.sexual.threshold"),
        ('[categories.sexual]\nimages = ["thumbnail"]\n', "categories.sexual.images"),
        ('[categories.hate]\nimages = ["upload"]\n', "categories.hate.images"),
        ("[categories.faces]\nthreshold = 0.5\n", "categories.faces.threshold"),
        ('[categories.violence]\naction = "refuse"\n', "categories.violence"),
        ('[prompt]\nclassifier = "yes"\n', "prompt.classifier"),
        ('[prompt]\nclassifier_category = "faces"\n', "prompt.classifier_category"),
        ('[images]\nwhen_unavailable = "maybe"\n', "images.when_unavailable"),
        ("[images]\nnudenet = true\n", "images.nudenet"),
        ("version = 2\n", "version"),
        ('colour = "red"\n', "colour"),
        ("categories = 3\n", "categories"),
    ],
)
def test_bad_keys_and_values_name_the_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyFileError) as info:
        Policy.from_file(path)
    assert isinstance(info.value, UnclipError)
    assert info.value.key == key
    assert str(path) in str(info.value) and key in str(info.value)


@pytest.mark.parametrize(
    "entries, message",
    [
        ('["~ leading gap"]', "start and end with a word"),
        ('["kill ~ {nosuchgroup}"]', "unknown group"),
        ('["nude @1.5"]', "weight must be in"),
    ],
)
def test_bad_term_syntax_in_extra_terms_is_reported(tmp_path: Path, entries: str, message: str) -> None:
    path = write(tmp_path, f"[categories.hate]\nextra_terms = {entries}\n")
    with pytest.raises(PolicyFileError, match=message) as info:
        Policy.from_file(path)
    assert info.value.key == "categories.hate.extra_terms" and str(path) in str(info.value)


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("policy.toml", "[categories.sexual\naction = 1", "invalid TOML"),
        ("policy.json", '{"categories": ', "invalid JSON"),
        ("policy.yaml", "categories: {}", "must end in .toml or .json"),
    ],
)
def test_unparseable_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, text, name)
    with pytest.raises(PolicyFileError, match=message) as info:
        Policy.from_file(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="cannot read"):
        Policy.from_file(tmp_path / "nope.toml")


def test_relative_nudity_model_path_is_relative_to_the_policy_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[images]\nnudity_model = "models/320n.onnx"\n')
    assert Policy.from_file(path).config.images.nudity_model == str(tmp_path / "models/320n.onnx")
