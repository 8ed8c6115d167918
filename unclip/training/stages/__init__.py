"""One module per trainable stage; `STAGES` maps the `unclip train` stage name to its class."""

from __future__ import annotations

from unclip.training.stages.base import Stage


def stage_class(name: str) -> type[Stage]:
    if name == "clip":
        from unclip.training.stages.clip import ClipStage

        return ClipStage
    if name == "prior":
        from unclip.training.stages.prior import PriorStage

        return PriorStage
    if name == "decoder":
        from unclip.training.stages.decoder import DecoderStage

        return DecoderStage
    if name == "upsampler":
        from unclip.training.stages.upsampler import UpsamplerStage

        return UpsamplerStage
    raise ValueError(f"unknown stage {name!r}")
