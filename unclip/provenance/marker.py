"""`Provenance`: mark an output image and encode it as a signed PNG. Used where images leave unclip: the
CLI's files, `UnCLIP.save`, the server's responses (and so the editor's downloads).

Marking is, in order: DALL-E 2's visible colour signature (only with ``signature=True``), the invisible
watermark, then a C2PA manifest signed with the operator's key or one generated in ``key_folder``.
Pixels that an edit kept from its input stay exactly as they were: they are the user's, not generated.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from unclip.provenance import watermark
from unclip.provenance.errors import ProvenanceError
from unclip.provenance.keys import SigningKey, default_folder, load_key, local_key
from unclip.provenance.manifest import sign_png
from unclip.provenance.origin import Origin, origin_of
from unclip.provenance.signature import add_signature


def kept_pixels(output: Image.Image, original: Image.Image | None) -> np.ndarray | None:
    """Where ``output`` equals ``original`` exactly (an edit's kept area), as a bool [H, W] mask; None
    when the sizes differ (a resized input is not the user's pixels any more) or nothing is kept."""
    if original is None or original.size != output.size:
        return None
    same = (np.asarray(output.convert("RGB")) == np.asarray(original.convert("RGB"))).all(axis=-1)
    return same if same.any() else None


class Provenance:
    """Marks images and signs PNGs. Cheap to create: the key is loaded (or generated) on first use."""

    def __init__(
        self,
        key: SigningKey | None = None,
        key_folder: str | Path | None = None,
        *,
        signature: bool = False,
        watermark: bool = True,
    ) -> None:
        self.signature = signature
        self.watermark = watermark
        self.key_folder = Path(key_folder).expanduser() if key_folder else default_folder()
        self._key = key
        self._lock = threading.Lock()

    @classmethod
    def from_files(
        cls,
        cert: str | Path | None,
        key: str | Path | None,
        key_folder: str | Path | None = None,
        **options: bool,
    ) -> Provenance:
        """An operator's certificate chain and key (PEM files), or None for the generated local key."""
        if key and not cert:
            raise ProvenanceError("a signing key needs its certificate chain too (--signing-cert)")
        return cls(load_key(cert, key) if cert else None, key_folder, **options)

    @property
    def key(self) -> SigningKey:
        with self._lock:
            if self._key is None:
                self._key = local_key(self.key_folder)
            return self._key

    def mark_pixels(self, image: Image.Image, origin: Origin | None = None) -> Image.Image:
        """The visible signature (if on) and the invisible watermark; an edit's kept pixels unchanged."""
        origin = origin or origin_of(image)
        marked = add_signature(image) if self.signature else image
        if self.watermark:
            marked = watermark.embed(marked)
        keep = kept_pixels(image, origin.inputs[0] if origin and origin.inputs else None)
        if keep is not None:
            pixels = np.asarray(marked).copy()
            pixels[keep] = np.asarray(image.convert(marked.mode))[keep]
            marked = Image.fromarray(pixels, marked.mode)
        return marked

    def png(self, image: Image.Image, origin: Origin | None = None, compress_level: int = 6) -> bytes:
        """``image`` marked and encoded as a PNG carrying a signed C2PA manifest. ``compress_level``: zlib's
        0-9 (Pillow's default 6; 1 encodes a 256 px image ~5x faster, ~15% larger: for transient previews)."""
        origin = origin or origin_of(image)
        buf = io.BytesIO()
        self.mark_pixels(image, origin).save(buf, format="PNG", compress_level=compress_level)
        marked = self.watermark and watermark.can_mark(image)
        return sign_png(buf.getvalue(), self.key, origin, watermark=marked, signature=self.signature)

    def gif(self, frames: list[Image.Image], duration_ms: int = 150, origin: Origin | None = None) -> bytes:
        """An animated GIF of the marked frames (there and back, looping) with a signed C2PA manifest.
        (A GIF's 256-colour palette mostly erases the invisible watermark; the manifest is what marks it.)"""
        origin = origin or origin_of(frames[0])
        marked = [self.mark_pixels(frame, origin) for frame in frames]
        buf = io.BytesIO()
        marked[0].save(
            buf,
            format="GIF",
            save_all=True,
            append_images=marked[1:] + marked[-2:0:-1],
            duration=duration_ms,
            loop=0,
        )
        return sign_png(
            buf.getvalue(), self.key, origin, watermark=False, signature=self.signature, mime="image/gif"
        )

    def save(self, image: Image.Image, path: str | Path, origin: Origin | None = None) -> Path:
        """Write ``png(image)`` to ``path`` (atomically: never a half-written file)."""
        return self.write(self.png(image, origin), path)

    @staticmethod
    def write(data: bytes, path: str | Path) -> Path:
        """Write ``data`` to ``path`` atomically (a temporary file renamed into place)."""
        path = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as e:
            raise ProvenanceError(f"{path}: cannot write ({e.strerror or e})") from None
        return path
