"""Open Clip Art Library SVGs from the Debian openclipart-svg package (public domain), rendered large.

Captions are the `dc:title` of each file's metadata, which is noisy: collection names ("Lemon SVG
theme", "gramastar" on 1,375 generated stars), author credits and Italian titles are filtered out; a few
folders whose titles are collection names get a caption from the file name instead.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from unclip.data.sources.base import Collected, DataSourceError, Item, Package, SourceInfo
from unclip.data.sources.cache import SourceCache
from unclip.data.sources.captions import clean_title, has_words, squash

PACKAGE = Package("apt", "openclipart-svg")
SVG_ROOT = Path("usr/share/openclipart/svg")
LICENSE = "public domain"
ATTRIBUTION = (
    "Open Clip Art Library (openclipart.org) via the Debian package openclipart-svg. The images are "
    "dedicated to the public domain (Creative Commons Public Domain Dedication); no attribution is "
    "required. Each image's author, where its metadata names one, is kept in metadata.jsonl. Files whose "
    "metadata states another license are left out."
)
NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "cc": "http://web.resource.org/cc/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}
MAX_TITLE_REPEATS = 4  # a title on more files than this is a collection name, not a description
_BAD_TITLE = re.compile(
    r"hash\(|clip ?art by|collection|theme|\bicons?\b|\bsvg\b|http|converted|various|submission|sibmission",
    re.IGNORECASE,
)
_NON_ENGLISH_AUTHORS = frozenset({"Architetto Francesco Rollandin"})  # 421 Italian titles
# folder prefix -> (file-name prefix to drop, caption template) for folders titled by collection
_FILENAME_FOLDERS = {
    "transportation/roadsigns/": ("", "{} road sign"),
    "transportation/aiga-symbols/": ("aiga_", "{} sign"),
    "signs_and_symbols/map_symbols/aiga_": ("aiga_", "{} sign"),
}


def packages() -> list[Package]:
    return [PACKAGE]


@dataclass(frozen=True)
class SvgMeta:
    rel: str  # path below the svg root, with "/"
    title: str
    creator: str
    language: str
    license: str
    tags: tuple[str, ...]


def read_meta(path: Path, rel: str) -> SvgMeta:
    """The Dublin Core metadata of one SVG; raises ET.ParseError / OSError for unreadable files."""
    work = ET.parse(path).getroot().find(".//cc:Work", NS)

    def text(p: str) -> str:
        el = work.find(p, NS) if work is not None else None
        return squash(el.text) if el is not None and el.text else ""

    lic = work.find("cc:license", NS) if work is not None else None
    tags = tuple(
        squash(el.text)
        for el in (work.findall("dc:subject/rdf:Bag/rdf:li", NS) if work is not None else [])
        if el.text and "hash(" not in el.text.lower()
    )
    return SvgMeta(
        rel=rel,
        title=text("dc:title"),
        creator=text("dc:creator/cc:Agent/dc:title"),
        language=text("dc:language"),
        license=(lic.get(f"{{{NS['rdf']}}}resource", "") if lic is not None else ""),
        tags=tags,
    )


def is_public_domain(license_url: str) -> bool:
    """Metadata license URLs: PublicDomain / publicdomain count; empty means the package's PD dedication."""
    return license_url == "" or "publicdomain" in license_url.lower()


def _filename_caption(rel: str) -> str:
    for prefix, (drop, template) in _FILENAME_FOLDERS.items():
        if rel.startswith(prefix):
            stem = Path(rel).stem
            stem = stem[len(drop) :] if drop and stem.startswith(drop) else stem
            words = clean_title(stem)
            return template.format(words) if has_words(words) else ""
    return ""


def caption_for(meta: SvgMeta, title_counts: Counter[str]) -> tuple[str, str]:
    """(caption, "") for a usable file, or ("", reason it is left out)."""
    if meta.creator in _NON_ENGLISH_AUTHORS:
        return "", "non-English title"
    if meta.language and meta.language.lower()[:2] not in ("en", "al"):
        return "", "non-English title"
    title = meta.title.strip()
    caption = ""
    if title and title_counts[title.lower()] <= MAX_TITLE_REPEATS and not _BAD_TITLE.search(title):
        caption = clean_title(title)
    if not has_words(caption):
        caption = _filename_caption(meta.rel)
        if not caption:
            return "", "no descriptive title"
    if meta.rel.startswith("signs_and_symbols/flags/") and "flag" not in caption:
        caption += " flag"
    return caption, ""


def _key(rel: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", rel.lower().removesuffix(".svg")).strip("-")


def collect(cache: SourceCache, style: str = "openclipart") -> Collected:
    root = cache.apt_root / SVG_ROOT
    if not root.is_dir():
        raise DataSourceError(
            f"{PACKAGE.name} is in the cache but {root} is missing: fetch it again with --install"
        )
    info = SourceInfo(style, PACKAGE, cache.version(PACKAGE), LICENSE, ATTRIBUTION)
    collected = Collected(info, [])
    metas: list[tuple[Path, SvgMeta]] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.lower().endswith(".svg"):
                continue
            path = Path(dirpath) / name
            real = os.path.realpath(path)
            if real in seen:  # the package links some files into several folders
                continue
            seen.add(real)
            rel = path.relative_to(root).as_posix()
            try:
                metas.append((path, read_meta(path, rel)))
            except (ET.ParseError, OSError, UnicodeDecodeError):
                collected.filtered["unparseable SVG"] += 1
    title_counts = Counter(m.title.strip().lower() for _, m in metas)
    keys: set[str] = set()
    for path, meta in metas:
        if not is_public_domain(meta.license):
            collected.filtered["not public domain"] += 1
            continue
        caption, reason = caption_for(meta, title_counts)
        if reason:
            collected.filtered[reason] += 1
            continue
        key = _key(meta.rel)
        while key in keys:
            key += "-x"
        keys.add(key)
        collected.items.append(
            Item(
                style,
                key,
                caption,
                caption,
                "svg",
                str(path),
                license=LICENSE,
                extra={
                    "title": meta.title,
                    "author": meta.creator,
                    "tags": list(meta.tags),
                    "path": meta.rel,
                },
            )
        )
    return collected
