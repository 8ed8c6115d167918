"""Policy files: load, validate strictly and lay a user's file over the shipped default.

A policy file is TOML (``.toml``) or JSON (``.json``) with the layout of ``data/default_policy.toml``.
Every key is checked: an unknown key or a bad value raises :class:`PolicyFileError` naming the file and
the dotted key (``categories.sexual.treshold``).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from unclip.safety.categories import (
    ACTIONS,
    ALL_CATEGORIES,
    FACES,
    IMAGE_CATEGORIES,
    IMAGE_KINDS,
    TEXT_CATEGORIES,
)
from unclip.safety.errors import PolicyFileError

DEFAULT_NAME = "<default policy>"


@dataclass(frozen=True)
class CategoryRule:
    action: str
    threshold: float = 0.5
    image_threshold: float = 0.5
    images: tuple[str, ...] = ()
    min_face_size: float = 0.1
    extra_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromptSettings:
    classifier: bool = True
    classifier_category: str = "harassment"
    classifier_threshold: float = 0.9
    classifier_needs_target: bool = True
    allow_phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageSettings:
    when_unavailable: str = "allow"
    nudity_model: str = ""


@dataclass(frozen=True)
class PolicyConfig:
    name: str
    source: str
    prompt: PromptSettings
    images: ImageSettings
    categories: Mapping[str, CategoryRule] = field(default_factory=dict)


Check = Callable[[Any], Any]


def _number01(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number from 0 to 1, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"expected a number from 0 to 1, got {value!r}")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}; got {value!r}")
        return value

    return check


def _str_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"expected a list of strings, got {value!r}")
    return tuple(value)


def _term_list(value: Any) -> tuple[str, ...]:
    """A list of term-list entries (same syntax as data/terms/*.txt), each parsed to catch mistakes early."""
    from unclip.safety.lexicon import groups
    from unclip.safety.termfile import GroupRef, TermFileError, parse_pattern, split_weight

    entries = _str_list(value)
    for i, line in enumerate(entries):
        try:
            entry, _weight = split_weight(line, f"entry {i}")
            pattern = parse_pattern(entry, f"entry {i}")
        except TermFileError as exc:
            raise ValueError(str(exc)) from None
        unknown = [e.name for e in pattern if isinstance(e, GroupRef) and e.name not in groups()]
        if unknown:
            raise ValueError(f"entry {i} {line!r}: unknown group {{{unknown[0]}}}")
    return entries


def _kinds(value: Any) -> tuple[str, ...]:
    kinds = _str_list(value)
    bad = [k for k in kinds if k not in IMAGE_KINDS]
    if bad:
        raise ValueError(f"expected image kinds from {list(IMAGE_KINDS)}, got {bad}")
    return kinds


def _version(value: Any) -> int:
    if value != 1 or isinstance(value, bool):
        raise ValueError(f"only version 1 is supported, got {value!r}")
    return 1


TOP: dict[str, Check] = {"version": _version, "name": _str, "description": _str}
PROMPT: dict[str, Check] = {
    "classifier": _bool,
    "classifier_category": _one_of(*TEXT_CATEGORIES),
    "classifier_threshold": _number01,
    "classifier_needs_target": _bool,
    "allow_phrases": _term_list,
}
IMAGES: dict[str, Check] = {"when_unavailable": _one_of("allow", "refuse"), "nudity_model": _str}


def category_schema(category: str) -> dict[str, Check]:
    schema: dict[str, Check] = {"action": _one_of(*ACTIONS)}
    if category in TEXT_CATEGORIES:
        schema.update(threshold=_number01, extra_terms=_term_list)
    if category in IMAGE_CATEGORIES:
        schema.update(image_threshold=_number01, images=_kinds)
    if category == FACES:
        schema.update(min_face_size=_number01)
    return schema


def _check_table(data: Any, schema: Mapping[str, Check], where: str, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PolicyFileError(source, where, f"expected a table, got {type(data).__name__}")
    out = {}
    for key, value in data.items():
        dotted = f"{where}.{key}" if where else key
        if key not in schema:
            raise PolicyFileError(source, dotted, f"unknown key (allowed: {', '.join(schema)})")
        try:
            out[key] = schema[key](value)
        except (TypeError, ValueError) as exc:
            raise PolicyFileError(source, dotted, str(exc)) from None
    return out


def validate(data: Any, source: str) -> dict[str, Any]:
    """Check a parsed policy mapping; returns it with values converted (lists -> tuples)."""
    if not isinstance(data, dict):
        raise PolicyFileError(source, "", "a policy must be a table/object at the top level")
    sections = {"prompt": PROMPT, "images": IMAGES, "categories": None}
    top = {k: v for k, v in data.items() if k not in sections}
    out: dict[str, Any] = _check_table(top, TOP, "", source)
    for name in ("prompt", "images"):
        if name in data:
            out[name] = _check_table(data[name], sections[name], name, source)  # type: ignore[arg-type]
    if "categories" in data:
        categories = data["categories"]
        if not isinstance(categories, dict):
            raise PolicyFileError(source, "categories", "expected a table of categories")
        out["categories"] = {}
        for category, table in categories.items():
            if category not in ALL_CATEGORIES:
                raise PolicyFileError(
                    source, f"categories.{category}", f"unknown category (known: {', '.join(ALL_CATEGORIES)})"
                )
            out["categories"][category] = _check_table(
                table, category_schema(category), f"categories.{category}", source
            )
    return out


def parse_file(path: Path) -> Any:
    """Parse TOML or JSON by extension; syntax errors become :class:`PolicyFileError`."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise PolicyFileError(source, "", "a policy file must end in .toml or .json")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyFileError(source, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        if suffix == ".toml":
            return tomllib.loads(raw.decode("utf-8"))
        return json.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PolicyFileError(source, "", f"invalid {suffix[1:].upper()}: {exc}") from None


def _default_data() -> dict[str, Any]:
    text = resources.files("unclip.safety").joinpath("data/default_policy.toml").read_text("utf-8")
    return validate(tomllib.loads(text), DEFAULT_NAME)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def build(data: dict[str, Any], source: str) -> PolicyConfig:
    categories = {}
    for category in ALL_CATEGORIES:
        table = data.get("categories", {}).get(category)
        if table is None:
            raise PolicyFileError(source, f"categories.{category}", "missing from the policy")
        categories[category] = CategoryRule(**table)
    return PolicyConfig(
        name=data.get("name", "policy"),
        source=source,
        prompt=PromptSettings(**data.get("prompt", {})),
        images=ImageSettings(**data.get("images", {})),
        categories=categories,
    )


def load_default() -> PolicyConfig:
    return build(_default_data(), DEFAULT_NAME)


def load_file(path: str | Path) -> PolicyConfig:
    """Load a policy file laid over the default; every key in the file is validated."""
    path = Path(path)
    data = validate(parse_file(path), str(path))
    model = data.get("images", {}).get("nudity_model")
    if model and not Path(model).is_absolute():
        data["images"]["nudity_model"] = str(path.parent / model)  # relative to the policy file
    return build(_merge(_default_data(), data), str(path))


def load_mapping(data: Mapping[str, Any], source: str = "<mapping>") -> PolicyConfig:
    """Like :func:`load_file` for an already-parsed mapping (for programmatic policies)."""
    return build(_merge(_default_data(), validate(dict(data), source)), source)
