"""Shrink training datasets into one tar.gz small enough to travel to a leased GPU machine.

A lease carries at most 64 MiB of working tree, code and model weights included, and thousands of
small files travel badly. This keeps only the `train` rows of each dataset and re-encodes its images:
lossless WebP by default (emoji: ~25% smaller than PNG), or JPEG quality 95 for the datasets named in
--lossy (photo crops: ~65% smaller). With --mix NAME it also writes a mix of all of them (as
`unclip data mix`). Unpack on the machine with `tar xzf carry/data.tar.gz -C carry`.

    python scripts/gpu_lease/carry_data.py data/emoji64 data/photos64 --lossy photos64 --mix inpaint64 \
        --out carry/data.tar.gz
"""

from __future__ import annotations

import argparse
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from PIL import Image

from unclip.data.mix import mix_datasets


def convert(src: Path, dst: Path, lossy: bool) -> int:
    (dst / "images").mkdir(parents=True)
    rows = []
    for line in (src / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("split", "train") != "train":
            continue
        stem = Path(row["file"]).with_suffix("")
        with Image.open(src / row["file"]) as im:
            rgb = im.convert("RGB")
        if lossy:
            row["file"] = f"{stem}.jpg"
            rgb.save(dst / row["file"], "JPEG", quality=95)
        else:
            row["file"] = f"{stem}.webp"
            rgb.save(
                dst / row["file"], "WEBP", lossless=True, quality=100, method=4
            )  # method 6: 22x slower, no smaller here
        rows.append(json.dumps(row, ensure_ascii=False))
    (dst / "metadata.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for name in ("ATTRIBUTION.md", "summary.json"):
        if (src / name).is_file():
            shutil.copy(src / name, dst / name)
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+", type=Path)
    ap.add_argument("--lossy", default="", help="comma-separated dataset names to store as JPEG q95")
    ap.add_argument("--mix", default="", help="also write a mix of all datasets under this name")
    ap.add_argument("--out", type=Path, default=Path("carry/data.tar.gz"))
    args = ap.parse_args()
    lossy = set(filter(None, args.lossy.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        for ds in args.datasets:
            n = convert(ds, root / ds.name, ds.name in lossy)
            print(f"{ds.name}: {n} train images ({'JPEG' if ds.name in lossy else 'lossless WebP'})")
        if args.mix:
            mix_datasets(root / args.mix, [root / ds.name for ds in args.datasets])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(args.out, "w:gz") as tar:
            tar.add(root, arcname="data")
    print(f"{args.out}: {args.out.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
