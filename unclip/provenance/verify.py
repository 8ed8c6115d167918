"""`unclip verify IMAGE`: what provenance a PNG carries. The manifest is validated by c2pa's own reader;
the watermark is looked for in the decoded pixels (so it is found in a re-encoded copy too)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from unclip.provenance import watermark
from unclip.provenance.errors import ProvenanceError
from unclip.provenance.manifest import ManifestReport, read_manifest
from unclip.provenance.pngchunks import PNG_MAGIC
from unclip.provenance.signature import has_signature


@dataclass(frozen=True)
class VerifyReport:
    manifest: ManifestReport
    watermark: watermark.WatermarkReading | None  # None: the pixel data could not be decoded
    signature: bool  # DALL-E 2's coloured squares in the lower-right corner
    damage: str = ""  # why the pixels could not be decoded

    def describe(self) -> str:
        mark = self.watermark.describe() if self.watermark else f"cannot be read ({self.damage})"
        return "\n".join(
            [
                f"C2PA manifest: {self.manifest.describe()}",
                f"invisible watermark: {mark}",
                f"visible signature: {'present' if self.signature else 'absent'}",
            ]
        )


def verify_bytes(data: bytes, name: str = "image") -> VerifyReport:
    if not data.startswith(PNG_MAGIC):
        kind = "a JPEG" if data[:3] == b"\xff\xd8\xff" else "not a PNG"
        raise ProvenanceError(
            f"{name}: {kind} file (its first bytes are {data[:8]!r}); unclip verify reads "
            "the PNGs unclip writes"
        )
    manifest = read_manifest(data)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as e:  # noqa: BLE001 - PIL raises many types for broken files
        why = "not a decodable image" if isinstance(e, UnidentifiedImageError) else str(e)
        return VerifyReport(manifest, None, False, f"damaged image data: {why}")
    return VerifyReport(manifest, watermark.read(image), has_signature(image))


def verify_file(path: str | Path) -> VerifyReport:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ProvenanceError(f"{path}: cannot read ({e.strerror or e})") from None
    return verify_bytes(data, str(path))
