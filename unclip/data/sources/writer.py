"""Writing a dataset: images/<id>.png + images/<id>.txt, metadata.jsonl, ATTRIBUTION.md, summary.json."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unclip.data.sources.base import Collected, DataSourceError, Item, SkipItem
from unclip.data.sources.captions import split_for
from unclip.data.sources.render import load_item

OUTPUT_FILES = ("images", "metadata.jsonl", "ATTRIBUTION.md", "summary.json")


@dataclass
class BuildReport:
    out_dir: Path
    size: int
    images: Counter[str] = field(default_factory=Counter)  # style -> images written
    holdout_images: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # style -> reason
    filtered: dict[str, Counter[str]] = field(default_factory=dict)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)  # (style, reason) -> first case
    concepts: int = 0
    holdout_concepts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.images.values())

    def lines(self) -> list[str]:
        out = [
            f"wrote {self.total} images of {self.size}x{self.size} px to {self.out_dir} in {self.seconds:.1f} s"
        ]
        for style, n in self.images.items():
            skipped = sum(self.skipped.get(style, Counter()).values())
            out.append(
                f"  {style:12s} {n:6d} images ({self.holdout_images[style]} holdout), {skipped} skipped"
            )
            for reason, k in self.skipped.get(style, Counter()).most_common():
                out.append(f"      skipped {k}: {reason}, e.g. {self.examples.get((style, reason), '')}")
            for reason, k in self.filtered.get(style, Counter()).most_common():
                out.append(f"      left out {k}: {reason}")
        out.append(
            f"  concepts: {self.concepts}, held out: {len(self.holdout_concepts)} "
            f"(e.g. {', '.join(self.holdout_concepts[:5]) or '-'})"
        )
        return out


def prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    existing = [n for n in OUTPUT_FILES if (out_dir / n).exists()]
    if existing and not overwrite:
        raise DataSourceError(
            f"{out_dir} already holds a dataset ({', '.join(existing)}): pass --overwrite or choose another folder"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise DataSourceError(f"output {out_dir} exists and is not a folder")
    for name in existing:
        p = out_dir / name
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    (out_dir / "images").mkdir(parents=True, exist_ok=True)


def _render_one(args: tuple[Item, int, str]) -> tuple[str, str | None, str]:
    """Worker: write one item's PNG and caption; return (id, None, "") or (id, why it was skipped, detail)."""
    item, size, images_dir = args
    try:
        img = load_item(item, size)
    except SkipItem as e:
        return item.id, str(e), item.path if item.kind != "font" else item.text
    except DataSourceError:
        raise
    except Exception as e:  # noqa: BLE001 - any decoder error means "this file is unreadable": count it
        return item.id, f"unreadable ({type(e).__name__})", f"{item.path}: {e}"
    img.save(Path(images_dir) / f"{item.id}.png", compress_level=6)
    (Path(images_dir) / f"{item.id}.txt").write_text(item.caption + "\n", encoding="utf-8")
    return item.id, None, ""


def _run(tasks: list[tuple[Item, int, str]], workers: int) -> Iterator[tuple[str, str | None, str]]:
    if workers <= 1 or len(tasks) < 32:
        yield from map(_render_one, tasks)
        return
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(workers) as pool:
        yield from pool.imap_unordered(_render_one, tasks, chunksize=16)


def metadata_row(item: Item, collected: Collected, split: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": item.id,
        "file": f"images/{item.id}.png",
        "caption": item.caption,
        "alt_captions": list(item.alt_captions),
        "concept": item.concept,
        "style": item.style,
        "source": collected.info.source,
        "license": item.license or collected.info.license,
        "split": split,
    }
    row.update(item.extra)
    return row


def attribution_markdown(sources: list[Collected], counts: Counter[str]) -> str:
    intro = (
        "Images in this dataset come from these packages. Keep this file with the dataset and with "
        "anything trained on and distributed with it."
    )
    parts = ["# Attribution", "", intro, ""]
    for c in sources:
        info = c.info
        parts += [
            f"## {info.style}: {info.package.name} {info.version}",
            "",
            f"- package: {info.package.manager} `{info.package.name}`, version {info.version}",
            f"- license: {info.license}",
            f"- images: {counts[info.style]}",
            "",
            info.attribution,
            "",
        ]
    return "\n".join(parts)


def build_dataset(
    sources: list[Collected],
    out_dir: str | Path,
    size: int,
    holdout: float = 0.1,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
) -> BuildReport:
    start = time.monotonic()
    out = Path(out_dir)
    prepare_out_dir(out, overwrite)
    images_dir = out / "images"
    report = BuildReport(out_dir=out, size=size)
    by_id: dict[str, tuple[Item, Collected]] = {}
    for c in sources:
        report.filtered[c.info.style] = Counter(c.filtered)
        for note in c.notes:
            log(f"{c.info.style}: {note}")
        for item in c.items[:limit] if limit is not None else c.items:
            if item.id in by_id:
                report.skipped[item.style]["duplicate id"] += 1
                continue
            by_id[item.id] = (item, c)
    tasks = [(item, size, str(images_dir)) for item, _ in by_id.values()]
    log(f"rendering {len(tasks)} images with {max(1, workers)} worker(s)")
    ok: set[str] = set()
    for i, (item_id, reason, detail) in enumerate(_run(tasks, workers), 1):
        if reason is None:
            ok.add(item_id)
        else:
            style = by_id[item_id][0].style
            report.skipped[style][reason] += 1
            report.examples.setdefault((style, reason), detail)
        if i % 1000 == 0:
            log(f"  {i}/{len(tasks)}")
    queued = Counter(item.style for item, _ in by_id.values())
    for style, n in queued.items():
        if not any(by_id[i][0].style == style for i in ok):
            reason = report.skipped[style].most_common(1)[0][0]
            raise DataSourceError(
                f"style {style}: none of its {n} images could be rendered: {reason}, "
                f"e.g. {report.examples.get((style, reason), '')}"
            )
    concepts: dict[str, str] = {}
    with open(out / "metadata.jsonl", "w", encoding="utf-8") as f:
        for item, c in by_id.values():
            if item.id not in ok:
                continue
            split = concepts.setdefault(item.concept, split_for(item.concept, holdout))
            f.write(json.dumps(metadata_row(item, c, split), ensure_ascii=False) + "\n")
            report.images[item.style] += 1
            if split == "holdout":
                report.holdout_images[item.style] += 1
    report.concepts = len(concepts)
    report.holdout_concepts = sorted(k for k, v in concepts.items() if v == "holdout")
    (out / "ATTRIBUTION.md").write_text(attribution_markdown(sources, report.images), encoding="utf-8")
    report.seconds = time.monotonic() - start
    summary = {
        "size": size,
        "images": dict(report.images),
        "holdout_images": dict(report.holdout_images),
        "skipped": {k: dict(v) for k, v in report.skipped.items()},
        "skipped_examples": {f"{s}: {r}": d for (s, r), d in report.examples.items()},
        "left_out": {k: dict(v) for k, v in report.filtered.items() if v},
        "sources": {c.info.style: c.info.source for c in sources},
        "holdout_fraction": holdout,
        "concepts": report.concepts,
        "holdout_concepts": report.holdout_concepts,
        "seconds": round(report.seconds, 1),
    }
    (out / "summary.json").write_text(
        json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return report
