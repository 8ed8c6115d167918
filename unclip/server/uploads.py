"""Uploaded PNGs: magic bytes, size limit, header-only dimension check (decompression bombs), then decode
and shrink to the size the model uses.

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


def check_header(data: bytes, param: str, max_bytes: int, max_pixels: int) -> tuple[int, int]:
    """The checks that need no decoding (size limit, magic bytes, IHDR, pixel count): the image's
    width and height, or an OpenAI-shaped 400 naming `param`. A small file that claims a huge image
    costs nothing here."""
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
    return dims


def decode_png(
    data: bytes, param: str, max_bytes: int, max_pixels: int, max_side: int | None = None
) -> Image.Image:
    """Validate and fully decode an uploaded PNG, raising OpenAI-shaped 400s naming `param`; with
    `max_side`, shrink it to at most that side at once (`shrink`), so that the full-size pixels live
    only for the moment of decoding.

    Call it off the event loop (it decodes), and bound how many run at once (the server does):
    a 65 KB file can declare 4096x4096 pixels, 64 MB once decoded.
    """
    width, height = check_header(data, param, max_bytes, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            image.load()
    except (
        OSError,
        SyntaxError,
        ValueError,
        struct.error,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
        EOFError,
    ):
        raise bad_image(param) from None
    if image.size != (width, height):
        raise bad_image(param)
    return image if max_side is None else shrink(image, max_side)


def shrink(image: Image.Image, side: int) -> Image.Image:
    """`image` resized to fit in side x side (the size the model works at: the pipeline would resize
    it to that anyway), keeping its fully transparent areas: a pixel of the result is fully
    transparent when any pixel it covers was (the edit area of an upload without a mask, and of a
    mask, is where alpha is 0). Images that already fit are returned as they are."""
    if max(image.size) <= side:
        return image
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if image.mode == "PA" or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    if image.mode == "RGB":
        return image.resize(size, Image.Resampling.LANCZOS)
    alpha = image.getchannel(image.mode[-1] if image.mode != "L" else 0)  # L: value 0 marks the edit area too
    holes = alpha.point(lambda v: 255 if v == 0 else 0).resize(size, Image.Resampling.BOX)
    small = image.resize(size, Image.Resampling.LANCZOS)
    kept = small.getchannel(small.mode[-1] if small.mode != "L" else 0).point(lambda v: max(v, 1))
    channel = Image.composite(Image.new("L", size, 0), kept, holes.point(lambda v: 255 if v > 0 else 0))
    if small.mode == "L":
        return channel
    small.putalpha(channel)
    return small


def require_square(size: tuple[int, int], param: str = "image") -> None:
    w, h = size
    if w != h:
        raise invalid(
            param,
            f"Invalid input image - expected an image with equal width and height, got {w}x{h} instead.",
        )


def with_alpha(image: Image.Image) -> Image.Image:
    """The image an edit without a mask needs: one of ALPHA_MODES (palette images with transparency become RGBA)."""
    if image.mode in ALPHA_MODES:
        return image
    if image.mode == "PA" or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    raise invalid("image", f"Invalid input image - format must be in {list(ALPHA_MODES)}, got {image.mode}.")


def encode_png(image: Image.Image, compress_level: int = 6) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()
