"""Image preparation and the upsamplers' low-resolution corruptions (all on CPU, in DataLoader workers).

Every random choice takes the sample's own generator, so a sample is corrupted the same way however
the batch is split across processes. The first upsampler's input is blurred with a 3x3 Gaussian of
sigma 0.6 (DALL-E 2); the second's gets a BSR-like mixed degradation: blur, resize (random
interpolation via an intermediate size), Gaussian noise and JPEG, in random order (after Zhang et
al., BSRGAN, 2021, simplified).
"""

from __future__ import annotations

import io
import math

import torch
import torch.nn.functional as F
from PIL import Image

from unclip.utils.images import pil_to_tensor


def _rand(g: torch.Generator, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _randint(g: torch.Generator, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi]."""
    return int(torch.randint(lo, hi + 1, (), generator=g))


def resize_center_crop(image: Image.Image, size: int) -> torch.Tensor:
    """Resize the short side to `size` (bicubic, antialiased) and crop the centre: [3, size, size] in [-1, 1]."""
    w, h = image.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    if (nw, nh) != (w, h):
        image = image.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=None)
    left, top = (nw - size) // 2, (nh - size) // 2
    return pil_to_tensor(image.crop((left, top, left + size, top + size)))


def random_crop(x: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = _randint(g, 0, h - size), _randint(g, 0, w - size)
    return x[..., top : top + size, left : left + size]


def resize(x: torch.Tensor, size: int, mode: str = "bicubic") -> torch.Tensor:
    """[3, H, W] -> [3, size, size]; antialiased when shrinking."""
    kw = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    anti = mode in ("bilinear", "bicubic")
    return F.interpolate(x[None], size=(size, size), mode=mode, antialias=anti, **kw)[0]


def gaussian_kernel(
    size: int, sigma_x: float, sigma_y: float | None = None, angle: float = 0.0
) -> torch.Tensor:
    """A normalised (optionally anisotropic, rotated) 2-D Gaussian kernel [size, size]."""
    sigma_y = sigma_x if sigma_y is None else sigma_y
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = torch.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return k / k.sum()


def blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise convolution with reflect padding; x: [3, H, W]."""
    k = kernel.shape[-1]
    pad = k // 2
    if min(x.shape[-2:]) <= pad:
        return x
    xp = F.pad(x[None], (pad, pad, pad, pad), mode="reflect")
    weight = kernel.to(x.dtype).expand(x.shape[0], 1, k, k)
    return F.conv2d(xp, weight, groups=x.shape[0])[0]


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    arr = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="JPEG", quality=quality)
    return pil_to_tensor(Image.open(io.BytesIO(buf.getvalue())))


def degrade_blur(hr: torch.Tensor, low: int, kernel: int = 3, sigma: float = 0.6) -> torch.Tensor:
    """The first upsampler's input: downsample to `low` px, then Gaussian blur (kernel 3, sigma 0.6)."""
    return blur(resize(hr, low), gaussian_kernel(kernel, sigma)).clamp(-1, 1)


def degrade_bsr(hr: torch.Tensor, low: int, g: torch.Generator) -> torch.Tensor:
    """BSR-like mixed degradation of a high-res crop down to `low` px (blur, resize, noise, JPEG)."""
    x = hr
    size = hr.shape[-1]
    modes = ("area", "bilinear", "bicubic")

    def do_blur(x: torch.Tensor) -> torch.Tensor:
        k = 2 * _randint(g, 1, 3) + 1
        if _rand(g) < 0.5:
            kernel = gaussian_kernel(k, _rand(g, 0.2, 2.0))
        else:
            kernel = gaussian_kernel(k, _rand(g, 0.2, 2.0), _rand(g, 0.2, 2.0), _rand(g, 0, math.pi))
        return blur(x, kernel)

    def do_resize(x: torch.Tensor) -> torch.Tensor:
        # An intermediate size between the target and the current size; the final resize follows.
        current = x.shape[-1]
        mid = max(low, min(current, round(low * _rand(g, 1.0, 2.0))))
        return resize(x, mid, modes[_randint(g, 0, 2)])

    def do_noise(x: torch.Tensor) -> torch.Tensor:
        sigma = _rand(g, 1, 25) / 127.5
        if _rand(g) < 0.6:
            noise = torch.randn(x.shape, generator=g) * sigma
        else:  # grey noise, the same on every channel
            noise = torch.randn((1, *x.shape[1:]), generator=g).expand_as(x) * sigma
        return x + noise

    def do_jpeg(x: torch.Tensor) -> torch.Tensor:
        return jpeg(x, _randint(g, 30, 95))

    ops = [do_blur, do_resize, do_noise]
    order = torch.randperm(len(ops), generator=g).tolist()
    for i in order:
        if _rand(g) < 0.7:
            x = ops[i](x).clamp(-1, 1)
    if x.shape[-1] != low or size == low:
        x = resize(x, low, modes[_randint(g, 0, 2)]).clamp(-1, 1)
    if _rand(g) < 0.5:
        x = do_blur(x).clamp(-1, 1)
    if _rand(g) < 0.7:
        x = do_jpeg(x)  # JPEG last, as real low-res inputs are usually compressed last
    return x.clamp(-1, 1)
