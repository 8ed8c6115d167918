"""unclip's vectorised DWT-DCT-SVD gives exactly invisible-watermark's pixels and bits, so anyone can read
unclip's mark with the library, and marking is unchanged by the speed-up."""

from __future__ import annotations

import numpy as np
import pytest
from imwatermark import WatermarkDecoder, WatermarkEncoder
from PIL import Image

from unclip.provenance import dwt_dct_svd, watermark


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    out = []
    # square, odd sizes (wavelet planes whose blocks leave remainder rows/columns), wide, 512 px
    for h, w in [(256, 256), (262, 258), (301, 257), (256, 640), (512, 512)]:
        out.append(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        smooth = np.cumsum(rng.normal(0, 3, (h, w, 3)), axis=1) + 128
        out.append(np.clip(smooth, 0, 255).astype(np.uint8))
        saturated = np.full((h, w, 3), 255, np.uint8)
        saturated[: h // 2] = 0
        out.append(saturated)
    return out


@pytest.mark.parametrize("index", range(15))
def test_same_pixels_and_bits_as_invisible_watermark(index):
    bgr = _images()[index]
    encoder = WatermarkEncoder()
    encoder.set_watermark("bytes", watermark.PAYLOAD)
    library = encoder.encode(bgr.copy(), watermark.METHOD, **watermark.STRENGTH)
    ours = dwt_dct_svd.encode(bgr.copy(), watermark.EXPECTED, watermark.SCALES)
    assert ours.dtype == library.dtype and np.array_equal(ours, library)

    decoder = WatermarkDecoder("bits", watermark.BITS)
    for image in (library, bgr):  # a marked image and an unmarked one read the same bits
        read = decoder.decode(image, watermark.METHOD, **watermark.STRENGTH)
        assert np.array_equal(dwt_dct_svd.decode(image, watermark.BITS, watermark.SCALES), np.asarray(read))


def test_the_library_reads_unclips_mark():
    rng = np.random.default_rng(5)
    image = Image.fromarray(
        np.clip(np.cumsum(rng.normal(0, 4, (256, 256, 3)), axis=0) + 128, 0, 255).astype(np.uint8)
    )
    marked = watermark.embed(image)
    assert not np.array_equal(np.asarray(marked), np.asarray(image))
    decoder = WatermarkDecoder("bits", watermark.BITS)
    bits = decoder.decode(
        np.ascontiguousarray(np.asarray(marked)[:, :, ::-1]), watermark.METHOD, **watermark.STRENGTH
    )
    assert int((np.asarray(bits, dtype=np.uint8) == watermark.EXPECTED).sum()) == watermark.BITS
    assert watermark.read(marked).present and not watermark.read(image).present
