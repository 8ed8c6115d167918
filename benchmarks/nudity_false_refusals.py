"""How often the nudity check refuses harmless pictures: every image of one or more datasets written by
`unclip data` (e.g. data/emoji64, data/photos64), flattened over white and enlarged to 256 px as a user's
upload would be, scored by the policy's NudeNet detector against the shipped policy's sexual
image_threshold. Prints the share refused, by style/source and by NudeNet class, and the top scores.

No explicit images are shipped or used, so this measures false refusals only, not recall.

    python benchmarks/nudity_false_refusals.py data/emoji64 data/photos64 [--size 256] [--top 15]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image


def as_upload(path: Path, size: int) -> np.ndarray:
    """RGB uint8 [size, size, 3]: transparency over white (as the policy sees uploads), resized."""
    image = Image.open(path).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    white.alpha_composite(image)
    return np.asarray(white.convert("RGB").resize((size, size), Image.LANCZOS))


def shipped_threshold() -> float:
    from unclip.safety import Policy

    return Policy.default().config.categories["sexual"].image_threshold


def scan(dataset: Path, size: int, threshold: float, top: int) -> list[str]:
    from unclip.safety.nudity import NudityDetector

    detector = NudityDetector()
    ok, why = detector.available()
    if not ok:
        raise SystemExit(f"the nudity check is unavailable: {why}")
    rows = [
        json.loads(line) for line in (dataset / "metadata.jsonl").read_text().splitlines() if line.strip()
    ]
    t = time.perf_counter()
    total, refused, labels, scores = Counter(), Counter(), Counter(), []
    for row in rows:
        group = row.get("style") or row.get("source") or "?"
        result = detector.detect(as_upload(dataset / row["file"], size))
        total[group] += 1
        if result.score >= threshold:
            refused[group] += 1
            labels[result.label] += 1
            scores.append((result.score, row["caption"], group, result.label))
    n, k = sum(total.values()), sum(refused.values())
    lines = [
        (
            f"{dataset}: {k}/{n} refused ({100 * k / max(n, 1):.2f}%) at threshold {threshold} "
            f"({time.perf_counter() - t:.0f} s)"
        ),
        "  by group: " + ", ".join(f"{g} {refused[g]}/{total[g]}" for g in total),
        "  by class: " + ", ".join(f"{label} {c}" for label, c in labels.most_common()),
    ]
    lines += [
        f"  {s:.3f} {label:24s} {group:12s} {caption[:60]}"
        for s, caption, group, label in sorted(scores, reverse=True)[:top]
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--size", type=int, default=256, help="upload size in px (default 256)")
    p.add_argument("--threshold", type=float, default=None, help="default: the shipped policy's")
    p.add_argument("--top", type=int, default=15, help="list this many refused images (highest scores)")
    args = p.parse_args(argv)
    threshold = shipped_threshold() if args.threshold is None else args.threshold
    for dataset in args.datasets:
        if not (dataset / "metadata.jsonl").is_file():
            print(f"{dataset}: no metadata.jsonl (not a dataset written by `unclip data`)", file=sys.stderr)
            return 2
        print("\n".join(scan(dataset, args.size, threshold, args.top)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
