"""`unclip data mix`: one manifest over several datasets written by `unclip data`, to train on them together.

The mix copies no image: its metadata.jsonl lists every row of each dataset with the image path
rewritten relative to the mix folder (so the datasets must stay where they are), the dataset it came
from, and its split. A dataset can be repeated to weight it up. The attribution files are joined, so
a model trained on the mix carries every source's terms.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from unclip.data.attribution import merge_attributions
from unclip.data.sources.base import DataSourceError


def _rows(dataset: Path) -> list[dict]:
    meta = dataset / "metadata.jsonl"
    if not meta.is_file():
        raise DataSourceError(f"{dataset}: no metadata.jsonl (not a folder written by `unclip data`)")
    rows = []
    with open(meta, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    raise DataSourceError(f"{meta}: line {n} is not JSON ({e})") from e
    if not rows:
        raise DataSourceError(f"{meta}: no rows")
    return rows


def mix_datasets(
    out_dir: str | Path, datasets: list[str | Path], repeats: list[int] | None = None, overwrite: bool = False
) -> Counter[str]:
    """Write `out_dir`/metadata.jsonl and ATTRIBUTION.md; returns rows written per dataset."""
    out = Path(out_dir)
    repeats = repeats or [1] * len(datasets)
    if len(repeats) != len(datasets) or any(r < 1 for r in repeats):
        raise DataSourceError("--repeat needs one count >= 1 per dataset")
    if not datasets:
        raise DataSourceError("name at least one dataset to mix")
    if (out / "metadata.jsonl").exists() and not overwrite:
        raise DataSourceError(f"{out} already holds a dataset: pass --overwrite or choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    attributions: list[str] = []
    lines: list[str] = []
    for dataset, repeat in zip(map(Path, datasets), repeats):
        name = dataset.resolve().name
        rows = _rows(dataset)
        rel = Path(os.path.relpath(dataset.resolve(), out.resolve()))
        for r in range(repeat):
            for row in rows:
                row = dict(row, file=(rel / row["file"]).as_posix(), dataset=name)
                if r:
                    row["id"] = f"{row['id']}~{r}"
                lines.append(json.dumps(row, ensure_ascii=False))
                counts[name] += 1
        attribution = dataset / "ATTRIBUTION.md"
        if attribution.is_file():
            attributions.append(attribution.read_text(encoding="utf-8"))
    tmp = out / ".metadata.jsonl.tmp"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out / "metadata.jsonl")
    merged = merge_attributions(attributions)
    if merged:
        (out / "ATTRIBUTION.md").write_text(merged, encoding="utf-8")
    return counts
