"""Turning one Item into a square RGB image: load, composite onto white, fit, pad."""

from __future__ import annotations

import io
import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from unclip.data.sources.base import DataSourceError, Item, SkipItem

WHITE = (255, 255, 255)


def to_square_rgb(img: Image.Image, size: int) -> Image.Image:
    """Composite onto white (transparent pixels would otherwise turn black), scale the longer side to
    `size` and centre on a white `size` x `size` canvas."""
    rgba = img.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, WHITE + (255,))
    flat.alpha_composite(rgba)
    rgb = flat.convert("RGB")
    w, h = rgb.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) != (w, h):
        rgb = rgb.resize((nw, nh), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if (nw, nh) == (size, size):
        return rgb
    canvas = Image.new("RGB", (size, size), WHITE)
    canvas.paste(rgb, ((size - nw) // 2, (size - nh) // 2))
    return canvas


@lru_cache(maxsize=4)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as e:
        raise DataSourceError(f"cannot load font {path} at size {size}: {e}") from e


def render_glyph(font_path: str, text: str, font_size: int = 109) -> Image.Image:
    """Draw one emoji from a colour font onto a transparent square the size of the font's em box."""
    font = _font(font_path, font_size)
    one = font.getlength("\U0001f600")
    if font.getlength(text) > 1.5 * one:
        raise SkipItem("not a single glyph in this font version")
    left, top, right, bottom = font.getbbox(text)
    w, h = right - left, bottom - top
    side = math.ceil(max(w, h, one))
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text(
        ((side - w) / 2 - left, (side - h) / 2 - top), text, font=font, embedded_color=True
    )
    if canvas.getbbox() is None:
        raise SkipItem("no glyph in the font")
    return canvas


PROBE_WIDTH = 128  # a cheap first render that finds the drawing on the page
MARGIN = 0.03  # white border around clip art, per side
MAX_ZOOM = 3.0  # never render a page wider than this many times the output size


def _raster_svg(path: str, width: int) -> Image.Image:
    """One SVG render at `width` px, aspect ratio kept (resvg-py, else cairosvg)."""
    try:
        import resvg_py
    except ImportError:
        resvg_py = None  # type: ignore[assignment]
    if resvg_py is not None:
        # dpi=96: resvg-py's default of 0 turns sizes in cm/pt/in into 0 ("SVG has an invalid size")
        return Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_path=path, width=width, dpi=96))))
    try:
        import cairosvg
    except ImportError:
        raise DataSourceError("rendering SVG needs resvg-py or cairosvg: pip install resvg-py") from None
    return Image.open(io.BytesIO(cairosvg.svg2png(url=path, output_width=width)))


def render_svg(path: str, size: int) -> Image.Image:
    """Render the drawing in an SVG, cropped to what is drawn (pages are often much larger than the
    picture), so that its longer side is about `size` px: a small probe render finds the drawing, one
    final render draws it at full resolution (no upscaling)."""
    probe = _raster_svg(path, PROBE_WIDTH).convert("RGBA")
    box = probe.getchannel("A").getbbox()
    if box is None:
        raise SkipItem("blank drawing")
    extent = max(box[2] - box[0], box[3] - box[1], 1)
    width = min(round(PROBE_WIDTH * size * (1 - 2 * MARGIN) / extent), round(MAX_ZOOM * size))
    img = _raster_svg(path, max(width, 1)).convert("RGBA")
    scale = img.width / probe.width
    pad = MARGIN * size + scale  # the margin, plus a probe pixel of rounding
    crop = (
        max(0, round(box[0] * scale - pad)),
        max(0, round(box[1] * scale - pad)),
        min(img.width, round(box[2] * scale + pad)),
        min(img.height, round(box[3] * scale + pad)),
    )
    return img.crop(crop)


def svg_renderer_available() -> bool:
    for mod in ("resvg_py", "cairosvg"):
        try:
            __import__(mod)
            return True
        except ImportError:
            continue
    return False


def load_item(item: Item, size: int) -> Image.Image:
    """The item's image as square RGB of `size` px. Raises SkipItem, or the loader's own error."""
    if item.kind == "raster":
        with Image.open(item.path) as im:
            im.load()
            img = im.copy() if im.mode in ("RGBA", "RGB") else im.convert("RGBA")
    elif item.kind == "font":
        img = render_glyph(item.path, item.text)
    elif item.kind == "svg":
        img = render_svg(item.path, size)
    elif item.kind == "crop":
        left, top, side = item.extra["crop"]
        with Image.open(item.path) as im:
            img = im.crop((left, top, left + side, top + side)).convert("RGB")
    else:
        raise DataSourceError(f"item {item.id}: unknown kind {item.kind!r}")
    return to_square_rgb(img, size)
