"""What made an image: the operation, the model, and the inputs it used. Carried with a PIL image in
``image.info`` from the pipeline to whatever saves it, so the C2PA manifest can say so."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

INFO_KEY = "unclip_origin"
# operation -> (C2PA action, IPTC digital source type, description)
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "generate": ("c2pa.created", TRAINED, "generated from a text prompt"),
    "edit": ("c2pa.edited", COMPOSITE, "the masked area of the input image regenerated from a prompt"),
    "outpaint": ("c2pa.edited", COMPOSITE, "the input image extended beyond its borders"),
    "vary": ("c2pa.created", TRAINED, "a variation of the input image"),
    "interpolate": ("c2pa.created", TRAINED, "a blend between two input images"),
    "text_diff": ("c2pa.created", TRAINED, "the input image changed toward a caption"),
}


@dataclass(frozen=True)
class Origin:
    operation: str  # a key of OPERATIONS
    model: str  # which model made it, e.g. "unclip default model (emoji, 78 MB)"
    inputs: tuple[Image.Image, ...] = field(default=(), repr=False)  # input images (edits, variations)

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"unknown operation {self.operation!r} (known: {', '.join(OPERATIONS)})")


def attach(image: Image.Image, origin: Origin) -> Image.Image:
    image.info[INFO_KEY] = origin
    return image


def origin_of(image: Image.Image) -> Origin | None:
    found = image.info.get(INFO_KEY)
    return found if isinstance(found, Origin) else None
