"""invisible-watermark's ``dwtDctSvd`` method, vectorised over the 4x4 blocks.

The library walks the wavelet plane block by block in Python (a DCT, an SVD, the inverse of both per
block): about 35 ms for a 256 px image and 0.6 s at 1024 px, for marking and as much again for the read
that checks it. Here the same arithmetic runs on all blocks at once, so the marked pixels and the bits
read are exactly the library's (tests compare them on many images): OpenCV's 2-D DCT of a block is its
1-D DCT over the rows and then over the columns, which ``cv2.DCT_ROWS`` does for every block in one call;
numpy's SVD of a stack of blocks is the same LAPACK call per block.
"""

from __future__ import annotations

import cv2
import numpy as np
import pywt

BLOCK = 4


def _blocks(plane: np.ndarray) -> np.ndarray:
    """[H, W] -> [H/4 * W/4, 4, 4], blocks in row-major order (the library's order)."""
    h, w = plane.shape
    return plane.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)


def _unblocks(blocks: np.ndarray, h: int, w: int) -> np.ndarray:
    return blocks.reshape(h // BLOCK, w // BLOCK, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(h, w)


def _dct(blocks: np.ndarray, inverse: bool = False) -> np.ndarray:
    """cv2.dct (or idct) of every block: rows, then columns (the transposed rows)."""
    n = blocks.shape[0]
    flags = cv2.DCT_ROWS | (cv2.DCT_INVERSE if inverse else 0)
    rows = cv2.dct(np.ascontiguousarray(blocks, dtype=np.float64).reshape(n * BLOCK, BLOCK), flags=flags)
    cols = np.ascontiguousarray(rows.reshape(n, BLOCK, BLOCK).transpose(0, 2, 1)).reshape(n * BLOCK, BLOCK)
    return cv2.dct(cols, flags=flags).reshape(n, BLOCK, BLOCK).transpose(0, 2, 1)


def _whole(plane: np.ndarray) -> tuple[int, int]:
    """The part of ``plane`` the blocks cover (the library leaves any remainder rows and columns)."""
    return plane.shape[0] // BLOCK * BLOCK, plane.shape[1] // BLOCK * BLOCK


def _plane(bgr: np.ndarray) -> tuple[np.ndarray, int, int]:
    h, w = bgr.shape[:2]
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV), h // 4 * 4, w // 4 * 4


def encode(bgr: np.ndarray, bits: np.ndarray, scales: list[int]) -> np.ndarray:
    """``bgr`` (uint8 [H, W, 3]) with ``bits`` (0/1, repeated over the blocks) quantised into the largest
    singular value of each block's DCT, in the first Haar level of each YUV channel whose scale is > 0."""
    yuv, h, w = _plane(bgr)
    for channel, scale in enumerate(scales[:2]):  # the library reads only Y and U
        if scale <= 0:
            continue
        ca, (ch, cv, cd) = pywt.dwt2(yuv[:h, :w, channel], "haar")
        bh, bw = _whole(ca)
        u, s, vt = np.linalg.svd(_dct(_blocks(ca[:bh, :bw])))
        wanted = np.resize(np.asarray(bits, dtype=np.float64), len(s))
        s[:, 0] = (s[:, 0] // scale + 0.25 + 0.5 * wanted) * scale
        ca[:bh, :bw] = _unblocks(_dct(u @ (s[:, :, None] * vt), inverse=True), bh, bw)
        # the library passes the horizontal and vertical details back swapped: kept, to mark the same pixels
        yuv[:h, :w, channel] = pywt.idwt2((ca, (cv, ch, cd)), "haar")
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)


def decode(bgr: np.ndarray, length: int, scales: list[int]) -> np.ndarray:
    """The ``length`` bits read from ``bgr``: each bit's blocks vote (their mean, over the channels used)."""
    yuv, h, w = _plane(bgr)
    votes: list[np.ndarray] = []
    for channel, scale in enumerate(scales[:2]):
        if scale <= 0:
            continue
        ca, _ = pywt.dwt2(yuv[:h, :w, channel], "haar")
        bh, bw = _whole(ca)
        s = np.linalg.svd(_dct(_blocks(ca[:bh, :bw])))[1]  # all of the SVD, as the library: the same values
        votes.append((s[:, 0] % scale > scale * 0.5).astype(np.float64))
    scores = np.concatenate(votes) if votes else np.zeros(0)
    per_channel = len(votes[0]) if votes else 0
    position = np.concatenate([np.arange(per_channel) % length for _ in votes]) if votes else np.zeros(0, int)
    means = np.array([scores[position == bit].mean() for bit in range(length)])
    return means * 255 > 127
