"""Train a judge on real emoji of several styles, and measure it on one style it never sees.

Everything is held in memory (about 12,000 pictures of 64 px is 150 MB). Each batch is augmented
(`augment.py`) so the judge learns the concept, not one style's way of drawing it; its accuracy on the
held-out style, measured on clean pictures, is written to `report.json` and is the reader's measure
of how far to trust its figures.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from unclip.errors import InputError
from unclip.evaluation.judge.augment import augment
from unclip.evaluation.judge.judge import ranks, to_input
from unclip.evaluation.judge.model import JudgeConfig, JudgeNet
from unclip.evaluation.prompts import read_metadata


@dataclass
class JudgeData:
    pixels: torch.Tensor  # uint8 NCHW
    labels: torch.Tensor  # long [N]
    styles: list[str]


def load_styles(root: Path, labels: list[str] | None, size: int) -> tuple[dict[str, JudgeData], list[str]]:
    """Every picture of an `unclip data emoji` folder, grouped by style; labels are the concepts in sorted
    order unless given."""
    meta = root / "metadata.jsonl"
    if not meta.is_file():
        raise InputError(f"{meta}: missing: the judge trains on a folder written by `unclip data emoji`")
    rows = []
    for n, line in enumerate(read_metadata(meta).splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
                rows.append((row["style"], row["concept"], root / row["file"]))
            except (ValueError, KeyError, TypeError) as e:
                raise InputError(
                    f"{meta}: line {n} is not a record with style, concept and file ({e})"
                ) from None
    labels = labels or sorted({c for _, c, _ in rows})
    index = {c: i for i, c in enumerate(labels)}
    by_style: dict[str, tuple[list[Image.Image], list[int]]] = {}
    for style, concept, file in rows:
        if concept not in index:
            continue
        try:
            with Image.open(file) as im:
                im.load()
                picture = im.copy()
        except (OSError, Image.DecompressionBombError) as e:
            raise InputError(f"{file}: cannot read this picture of the judge's data ({e})") from None
        images, ids = by_style.setdefault(style, ([], []))
        images.append(picture)
        ids.append(index[concept])
    out = {}
    for style, (images, ids) in by_style.items():
        pixels = ((to_input(images, size) + 1) * 127.5).round().to(torch.uint8)
        out[style] = JudgeData(pixels, torch.tensor(ids), [style] * len(ids))
    return out, labels


def _accuracy(net: JudgeNet, data: JudgeData, batch: int = 512) -> tuple[float, float]:
    net.eval()
    found = []
    with torch.inference_mode():
        for i in range(0, len(data.labels), batch):
            x = data.pixels[i : i + batch].float() / 127.5 - 1
            found.append(ranks(net(x), data.labels[i : i + batch]))
    r = torch.cat(found)
    net.train()
    return float((r < 1).float().mean()), float((r < 5).float().mean())


def train_judge(
    data: str | Path,
    out_dir: str | Path,
    test_style: str = "openmoji",
    epochs: int = 40,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    config: JudgeConfig | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Train on every style of `data` except `test_style`; write the judge folder; return its report."""
    root, out = Path(data), Path(out_dir)
    t0 = time.perf_counter()
    size = config.image_size if config else 64
    styles, labels = load_styles(root, None, size)
    if test_style not in styles:
        raise InputError(
            f"{root}: has no {test_style!r} pictures to test the judge on (styles: {', '.join(sorted(styles))})"
        )
    train_styles = sorted(s for s in styles if s != test_style)
    if not train_styles:
        raise InputError(f"{root}: no style to train on besides the test style {test_style!r}")
    train = JudgeData(
        torch.cat([styles[s].pixels for s in train_styles]),
        torch.cat([styles[s].labels for s in train_styles]),
        train_styles,
    )
    test = styles[test_style]
    config = config or JudgeConfig(num_classes=len(labels))
    config.num_classes = len(labels)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = JudgeNet(config)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.05)
    steps_per_epoch = math.ceil(len(train.labels) / batch_size)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.1)
    log(
        f"judge: {len(train.labels)} pictures of {len(labels)} concepts in {', '.join(train_styles)}; "
        f"testing on {len(test.labels)} {test_style} pictures; "
        f"{sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters"
    )
    curve = []
    for epoch in range(epochs):
        order = torch.randperm(len(train.labels), generator=g)
        seen = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            x = augment(train.pixels[idx].float() / 127.5 - 1, g)
            loss = F.cross_entropy(net(x), train.labels[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += loss.item() * len(idx)
        if (epoch + 1) % 5 == 0 or epoch + 1 == epochs:
            top1, top5 = _accuracy(net, test)
            curve.append(
                {"epoch": epoch + 1, "train_loss": seen / len(order), "test_top1": top1, "test_top5": top5}
            )
            log(
                f"judge: epoch {epoch + 1}/{epochs} loss {seen / len(order):.3f}; "
                f"{test_style} top-1 {top1:.1%} top-5 {top5:.1%} "
                f"({time.perf_counter() - t0:.0f} s)"
            )
    top1, top5 = _accuracy(net, test)
    report = {
        "train_styles": train_styles,
        "test_style": test_style,
        "train_images": len(train.labels),
        "test_images": len(test.labels),
        "concepts": len(labels),
        "test_top1": top1,
        "test_top5": top5,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 1),
        "curve": curve,
        "data": str(root),
    }
    save_judge(net, labels, report, out)
    if (root / "ATTRIBUTION.md").is_file():
        shutil.copyfile(root / "ATTRIBUTION.md", out / "ATTRIBUTION.md")
    return report


def save_judge(
    net: JudgeNet, labels: list[str], report: dict, out: Path, dtype: torch.dtype = torch.float16
) -> None:
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    net.config.save(out / "config.json")
    (out / "labels.json").write_text(
        json.dumps(labels, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    state = {
        k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in net.state_dict().items()
    }
    save_file(state, str(out / "model.safetensors"))
