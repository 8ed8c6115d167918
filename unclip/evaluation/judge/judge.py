"""A trained judge, loaded from its folder, and what it says about pictures.

A judge folder holds `config.json` (JudgeConfig), `labels.json` (the concepts, in class order),
`model.safetensors` and `report.json` (how it was trained and its accuracy on a style it never saw:
how far to trust it). The package ships one in `unclip/assets/judge`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from unclip.errors import InputError
from unclip.evaluation.judge.model import JudgeConfig, JudgeNet
from unclip.utils.config import ConfigError

DEFAULT_JUDGE = Path(__file__).resolve().parents[2] / "assets" / "judge"


def to_input(images: Sequence[Image.Image], size: int) -> torch.Tensor:
    """RGB pictures (transparency composited on white) as [-1, 1] NCHW at `size` px (area resampling)."""
    out = []
    for im in images:
        if im.mode in ("RGBA", "LA", "P"):
            rgba = im.convert("RGBA")
            base = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(base, rgba)
        im = im.convert("RGB")
        if im.size != (size, size):
            im = im.resize(
                (size, size), Image.Resampling.BOX if im.width >= size else Image.Resampling.BICUBIC
            )
        out.append(torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(size, size, 3))
    return torch.stack(out).permute(0, 3, 1, 2).float() / 127.5 - 1


def ranks(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per picture, how many concepts score above its own (0: named first; < 5: in the top 5)."""
    return (logits > logits.gather(1, targets[:, None])).sum(dim=1)


@dataclass
class JudgeScores:
    """Top-1 / top-5 of the judge naming each picture's own concept among all it knows."""

    images: int
    top1: float
    top5: float
    unknown: int = 0  # pictures whose concept the judge was not trained on (left out)


class Judge:
    def __init__(
        self, net: JudgeNet, labels: list[str], report: dict[str, Any], path: Path | None = None
    ) -> None:
        if len(labels) != net.config.num_classes:
            raise InputError(f"the judge has {net.config.num_classes} classes but {len(labels)} labels")
        self.net = net.eval()
        self.labels = labels
        self.index = {c: i for i, c in enumerate(labels)}
        self.report = report
        self.path = path

    @classmethod
    def load(cls, path: str | Path | None = None) -> Judge:
        """Load a judge folder (None: the one shipped with the package). Errors name the bad file."""
        root = Path(path) if path is not None else DEFAULT_JUDGE
        if not root.is_dir():
            raise InputError(f"{root}: no judge folder here (train one with `unclip judge train`)")
        files = {
            name: root / name for name in ("config.json", "labels.json", "model.safetensors", "report.json")
        }
        for file in files.values():
            if not file.is_file():
                raise InputError(f"{file}: missing from the judge folder {root}")
        try:
            config = JudgeConfig.load(files["config.json"])
        except (ConfigError, OSError, ValueError) as e:
            raise InputError(f"{files['config.json']}: not a judge config ({e})") from None
        labels, report = (_read_json(files[n]) for n in ("labels.json", "report.json"))
        if not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
            raise InputError(f"{files['labels.json']}: expected a JSON list of concept names")
        if not isinstance(report, dict):
            raise InputError(f"{files['report.json']}: expected a JSON object")
        net = JudgeNet(config)
        try:
            from safetensors.torch import load_file

            state = load_file(files["model.safetensors"])
            net.load_state_dict({k: v.float() for k, v in state.items()})
        except Exception as e:  # noqa: BLE001 (safetensors' own error type, shape mismatches, truncated files)
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise InputError(
                f"{files['model.safetensors']}: cannot load the judge's weights ({first})"
            ) from None
        return cls(net, labels, report, root)

    @property
    def trust(self) -> str:
        """One line on how far to trust it: its accuracy on the style it never trained on."""
        r = self.report
        if "test_top5" not in r:
            return "judge: no held-out-style accuracy recorded"
        return (
            f"judge: a CNN trained on real emoji only ({', '.join(r.get('train_styles', []))}); on "
            f"{r.get('test_style')} emoji, a style it never saw, it names the concept top-1 "
            f"{r['test_top1']:.0%} / top-5 {r['test_top5']:.0%} among {len(self.labels)} concepts"
        )

    @torch.inference_mode()
    def logits(self, images: Sequence[Image.Image], batch: int = 256) -> torch.Tensor:
        size = self.net.config.image_size
        out = [self.net(to_input(images[i : i + batch], size)) for i in range(0, len(images), batch)]
        return torch.cat(out) if out else torch.zeros(0, len(self.labels))

    def score(self, images: Sequence[Image.Image], concepts: Sequence[str]) -> JudgeScores:
        """How often the judge names each picture's concept (top-1, top-5); unknown concepts are left out."""
        if len(images) != len(concepts):
            raise ValueError(f"{len(images)} images but {len(concepts)} concepts")
        known = [i for i, c in enumerate(concepts) if c in self.index]
        if not known:
            return JudgeScores(0, 0.0, 0.0, unknown=len(concepts))
        logits = self.logits([images[i] for i in known])
        r = ranks(logits, torch.tensor([self.index[concepts[i]] for i in known]))
        return JudgeScores(
            images=len(known),
            top1=float((r < 1).float().mean()),
            top5=float((r < 5).float().mean()),
            unknown=len(concepts) - len(known),
        )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not readable JSON ({e})") from None
