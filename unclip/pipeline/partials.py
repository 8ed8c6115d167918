"""Progress and partial images for `UnCLIP`'s generating methods (`callback=`, `partial_images=`).

The stages report every step (`unclip.cascade.progress`); `PartialReporter` turns those reports into
`Progress` for the caller: the stage, its step, the steps done over the whole run, and, at
`partial_images` evenly spaced points over the image stages' steps (decoder and upsamplers; the
prior's samples are embeddings, not pictures), the current clean-image estimate of every result,
resized to the output size. Watching draws no random numbers: the same seed gives the same final
images with or without a callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image

from unclip.cascade.progress import StageStep
from unclip.cascade.settings import SamplingConfig, StageSampling
from unclip.errors import InputError
from unclip.utils.images import tensor_to_pil

MAX_PARTIAL_IMAGES = 3


@dataclass(frozen=True)
class Progress:
    """`stage` ("prior", "decoder", "upsampler_256", "upsampler_1024") has done `step` of its `total`
    steps; `done` of `overall` steps of the whole run are done. `images`: at a partial point, the
    current estimate of each result (PIL, output size), and `partial_index` its 0-based number;
    otherwise both None."""

    stage: str
    step: int
    total: int
    done: int
    overall: int
    partial_index: int | None = None
    images: list[Image.Image] | None = None


ProgressCallback = Callable[[Progress], None]
Plan = list[tuple[str, int]]  # (stage, steps) in the order they run


def check_partial_images(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PARTIAL_IMAGES:
        raise InputError(
            f"partial_images: must be a whole number from 0 to {MAX_PARTIAL_IMAGES}, got {value!r}"
        )
    return value


def plan_stages(
    sampling: SamplingConfig, size: int, prior: bool = True, decoder: StageSampling | None = None
) -> Plan:
    """The stages a run to `size` px goes through and their step counts."""
    plan: Plan = [("prior", sampling.prior.steps)] if prior else []
    plan.append(("decoder", (decoder or sampling.decoder).steps))
    if size >= 256:
        plan.append(("upsampler_256", sampling.upsampler_256.steps))
    if size >= 512:
        plan.append(("upsampler_1024", sampling.upsampler_1024.steps))
    return plan


def partial_points(image_steps: int, count: int) -> list[int]:
    """`count` evenly spaced positions (1-based, over the image stages' steps) before the last step."""
    if image_steps < 2:
        return []
    points = {min(image_steps - 1, max(1, round(j * image_steps / (count + 1)))) for j in range(1, count + 1)}
    return sorted(points)


class PartialReporter:
    """A `unclip.cascade.progress.Listener` calling `callback` with `Progress` at every step.
    `screen(images)`: the content policy for partial images (raises on a refusal, so a refused
    estimate is never handed out)."""

    def __init__(
        self,
        plan: Plan,
        size: int,
        callback: ProgressCallback,
        partial_images: int = MAX_PARTIAL_IMAGES,
        screen: Callable[[list[Image.Image]], object] | None = None,
    ) -> None:
        self.size = size
        self.callback = callback
        self.screen = screen
        self.offsets: dict[str, int] = {}
        self.image_offsets: dict[str, int] = {}
        done = image_done = 0
        for stage, steps in plan:
            self.offsets[stage] = done
            done += steps
            if stage != "prior":
                self.image_offsets[stage] = image_done
                image_done += steps
        self.overall = done
        self.points = partial_points(image_done, check_partial_images(partial_images))
        self.sent = 0

    def __call__(self, report: StageStep) -> None:
        done = min(self.overall, self.offsets.get(report.stage, 0) + report.step)
        index: int | None = None
        images: list[Image.Image] | None = None
        if report.x0 is not None and self.sent < len(self.points):
            position = self.image_offsets.get(report.stage, 0) + report.step
            if position >= self.points[self.sent]:
                images = self._images(report.x0())
                if self.screen is not None:
                    self.screen(images)
                index = self.sent
                self.sent += 1
        self.callback(Progress(report.stage, report.step, report.total, done, self.overall, index, images))

    def _images(self, x0: torch.Tensor) -> list[Image.Image]:
        x = x0.float().clamp(-1, 1)
        if x.shape[-1] != self.size:
            mode = "area" if x.shape[-1] > self.size else "bilinear"
            x = F.interpolate(x, size=(self.size, self.size), mode=mode)
        return tensor_to_pil(x.clamp(-1, 1))
