"""Uploaded PNGs: magic bytes, size limit, header-only dimension check (decompression bombs), then decode.

Nothing here trusts the part's filename or content type: the official client sends every file as
`filename="upload"`, `application/octet-stream`.
"""

from __future__ import annotations

import io
import struct
import warnings

from PIL import Image

from unclip.server.errors import bad_image, invalid

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ALPHA_MODES = ("RGBA", "LA", "L")  # what API.md accepts for an edit without a mask


def png_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from the IHDR chunk, which must come first; None if the header is malformed."""
    if len(data) < 33 or not data.startswith(PNG_MAGIC):
        return None
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        return None
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        return None
    return width, height


def decode_png(data: bytes, param: str, max_bytes: int, max_pixels: int) -> Image.Image:
    """Validate and fully decode an uploaded PNG, raising OpenAI-shaped 400s naming `param`.

    Call it off the event loop (it decodes). The pixel count is checked from the header before any
    decoding, so a small file that claims a huge image costs nothing.
    """
    if len(data) >= max_bytes or not data.startswith(PNG_MAGIC):
        raise bad_image(param)
    dims = png_dimensions(data)
    if dims is None:
        raise bad_image(param)
    width, height = dims
    if width * height > max_pixels:
        raise invalid(
            param,
            f"Invalid input image - {width}x{height} is too large to process "
            f"(at most {max_pixels} pixels are accepted).",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            image.load()
    except (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombWarning,
            Image.DecompressionBombError, EOFError):
        raise bad_image(param) from None
    if image.size != (width, height):
        raise bad_image(param)
    return image


def require_square(image: Image.Image, param: str = "image") -> None:
    w, h = image.size
    if w != h:
        raise invalid(param, f"Invalid input image - expected an image with equal width and height, got {w}x{h} instead.")


def with_alpha(image: Image.Image) -> Image.Image:
    """The image an edit without a mask needs: one of ALPHA_MODES (palette images with transparency become RGBA)."""
    if image.mode in ALPHA_MODES:
        return image
    if image.mode == "PA" or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    raise invalid("image", f"Invalid input image - format must be in {list(ALPHA_MODES)}, got {image.mode}.")


def encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
