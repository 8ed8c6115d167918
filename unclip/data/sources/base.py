"""Shared types of the dataset builders: errors, packages, source descriptions and items."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from unclip.errors import UnclipError


class DataSourceError(UnclipError):
    """A source package is present but unusable (bad emoji.json, empty font, ...), or a build option is bad."""


class SourceMissingError(DataSourceError):
    """A package a source needs is not in the cache; the message gives the command that fetches it."""


class SourceInstallError(DataSourceError):
    """`npm install` / `apt-get download` / `dpkg-deb -x` failed while fetching a source package."""


class SkipItem(Exception):
    """Raised while rendering one item that is expected to be unrenderable (e.g. a glyph the font lacks)."""


@dataclass(frozen=True)
class Package:
    """A package in a registry: `manager` is "npm" or "apt" (a Debian package fetched with apt-get download)."""

    manager: Literal["npm", "apt"]
    name: str

    def __str__(self) -> str:
        return f"{self.manager} package {self.name}"


@dataclass(frozen=True)
class SourceInfo:
    """Where one style's images come from, under which license, and the attribution it requires."""

    style: str
    package: Package
    version: str
    license: str
    attribution: str  # Markdown paragraph for ATTRIBUTION.md

    @property
    def source(self) -> str:
        """e.g. "npm:emoji-datasource-google@16.0.0" or "deb:fonts-noto-color-emoji=2.042-0+deb12u1"."""
        if self.package.manager == "npm":
            return f"npm:{self.package.name}@{self.version}"
        return f"deb:{self.package.name}={self.version}"


ItemKind = Literal["raster", "font", "svg", "crop"]


@dataclass(frozen=True)
class Item:
    """One image to build. Picklable, so worker processes can render it.

    kind "raster": `path` is a PNG/WebP/... file; "font": `path` is a font file and `text` the string to
    draw; "svg": `path` is an SVG file; "crop": `path` is a photo and `extra["crop"]` the square
    (left, top, side) to cut from it.
    """

    style: str
    key: str  # unique within the style, file-name safe, e.g. "1f600"
    caption: str
    concept: str  # shared by every style's image of the same thing; the holdout split is by concept
    kind: ItemKind
    path: str
    text: str = ""
    alt_captions: tuple[str, ...] = ()
    license: str = ""  # per-item license; empty means the source's license
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def id(self) -> str:
        return f"{self.style}-{self.key}"


@dataclass
class Collected:
    """What a source found: its description, the items to render and why others were left out."""

    info: SourceInfo
    items: list[Item]
    filtered: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
