"""PNG chunks, for changing an image's pixels while keeping its other chunks (its C2PA manifest): what
"an image changed after signing" means in the tests and the benchmark."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk, in order."""
    if not data.startswith(PNG_MAGIC):
        raise ValueError("not a PNG")
    out, pos = [], len(PNG_MAGIC)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        out.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def build(parts: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        struct.pack(">I", len(b)) + k + b + struct.pack(">I", zlib.crc32(k + b) & 0xFFFFFFFF)
        for k, b in parts
    )
    return PNG_MAGIC + body


def replace_pixels(signed: bytes, image: Image.Image) -> bytes:
    """``signed`` with its pixel data (IHDR and IDAT chunks) replaced by ``image``'s; every other chunk,
    the C2PA manifest included, stays where it was."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    fresh = chunks(buf.getvalue())
    new_header = next(b for k, b in fresh if k == b"IHDR")
    new_data = [(k, b) for k, b in fresh if k == b"IDAT"]
    out: list[tuple[bytes, bytes]] = []
    for kind, body in chunks(signed):
        if kind == b"IHDR":
            out.append((kind, new_header))
        elif kind == b"IDAT":
            if new_data:
                out.extend(new_data)
                new_data = []
        else:
            out.append((kind, body))
    return build(out)
