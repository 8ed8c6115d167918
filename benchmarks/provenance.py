"""Provenance of default-model outputs: is the invisible watermark read back after JPEG quality 80 and
after a 50% resize, does every C2PA manifest validate with c2pa's own reader, is an image changed after
signing reported as tampered, and how long does marking add per image.

Generates N images with the embedded default model (50 emoji prompts x seeds, fewer sampling steps than
the model's defaults to save CPU: see --steps; the content policy is not applied, so every output counts),
then marks each exactly as unclip does (`Provenance.png`: watermark + signed C2PA manifest) and attacks it:

  * JPEG quality 80 (PIL), read back as is;
  * resized to 50% (Lanczos), read back by `unclip verify`'s reader (it tries the image at its own size
    and scaled to each size unclip makes);
  * one pixel changed with the manifest kept (the IDAT chunks replaced): must be "tampered".

For comparison it also embeds Stable Diffusion's exact configuration (`dwtDct`, strength 36) into the same
images. False positives: the watermark reader on the unmarked outputs.

    python benchmarks/provenance.py [--n 100] [--size 256] [--steps 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = [
    "a red apple",
    "a cat face",
    "a blue heart",
    "a rocket",
    "a slice of pizza",
    "a house",
    "a sun behind a cloud",
    "a dog face",
    "a running shoe",
    "a t-shirt",
    "a crescent moon",
    "a grinning face",
    "a green tree",
    "a yellow star",
    "a banana",
    "a birthday cake",
    "a car",
    "a fish",
    "a flower",
    "a guitar",
    "a hamburger",
    "an ice cream",
    "a key",
    "a lemon",
    "a mountain",
    "a panda face",
    "a penguin",
    "a rainbow",
    "a rose",
    "a snowman",
    "a strawberry",
    "a tomato",
    "an umbrella",
    "a watermelon",
    "a whale",
    "a bicycle",
    "a book",
    "a camera",
    "a clock",
    "a crown",
    "a diamond",
    "an egg",
    "a fire",
    "a ghost",
    "a gift box",
    "a hot air balloon",
    "a lightning bolt",
    "a mushroom",
    "an owl",
    "a pineapple",
]


def generate(n: int, size: int, steps: int) -> list[Image.Image]:
    from unclip.pipeline.unclip_pipeline import UnCLIP

    pipe = UnCLIP.from_pretrained(device="cpu", safety=False)
    settings = {
        "prior_steps": steps,
        "decoder_steps": steps,
        "upsampler_256_steps": max(2, steps // 3),
        "upsampler_1024_steps": max(2, steps // 3),
        "prior_candidates": 1,
    }
    images: list[Image.Image] = []
    seed = 0
    while len(images) < n:
        batch = [PROMPTS[(len(images) + i) % len(PROMPTS)] for i in range(min(10, n - len(images)))]
        images += pipe.generate(batch, size=size, seed=seed, **settings)
        seed += 1
        print(f"  generated {len(images)}/{n}", file=sys.stderr, flush=True)
    return images


def jpeg(image: Image.Image, quality: int = 80) -> Image.Image:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def plain_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def sd_reference(images: list[Image.Image]) -> dict[str, int]:
    """Stable Diffusion's own settings (dwtDct, scales [0, 36, 36], 48-bit payload here) on the same images."""
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    from unclip.provenance.watermark import BITS, MIN_MATCH, PAYLOAD

    encoder, decoder = WatermarkEncoder(), WatermarkDecoder("bits", BITS)
    encoder.set_watermark("bytes", PAYLOAD)
    expected = np.unpackbits(np.frombuffer(PAYLOAD, dtype=np.uint8))

    def found(image: Image.Image) -> bool:
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        return int((np.asarray(decoder.decode(bgr, "dwtDct"), np.uint8) == expected).sum()) >= MIN_MATCH

    counts = {"clean": 0, "jpeg80": 0, "half": 0}
    for image in images:
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        marked = Image.fromarray(np.ascontiguousarray(encoder.encode(bgr, "dwtDct")[:, :, ::-1]))
        counts["clean"] += found(marked)
        counts["jpeg80"] += found(jpeg(marked))
        counts["half"] += found(half(marked).resize(marked.size, Image.Resampling.BICUBIC))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--size", type=int, default=256, choices=(256, 512, 1024))
    parser.add_argument("--steps", type=int, default=10, help="prior and decoder steps (upsamplers: a third)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--key-folder", default=None, help="where the signing key is made (default: a temp folder)"
    )
    args = parser.parse_args()

    import tempfile

    import torch

    from unclip.provenance import Provenance, verify_bytes
    from unclip.provenance import watermark as wm
    from unclip.provenance.manifest import read_manifest
    from unclip.provenance.origin import Origin
    from unclip.provenance.pngchunks import replace_pixels

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    images = generate(args.n, args.size, args.steps)
    gen_s = time.perf_counter() - t0
    marker = Provenance(key_folder=args.key_folder or tempfile.mkdtemp(prefix="unclip-bench-keys-"))
    marker.key  # noqa: B018 - key generation is a one-off: not part of the per-image time
    origin = Origin("generate", "unclip default model")

    plain_ms, marked_ms, embed_ms = [], [], []
    counts = {"clean": 0, "jpeg80": 0, "half": 0, "unmarked": 0, "c2pa_valid": 0, "tampered": 0}
    jpeg_bits, half_bits = [], []
    for i, image in enumerate(images):
        t = time.perf_counter()
        plain_png(image)
        plain_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        wm.embed(image)
        embed_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        data = marker.png(image, origin)
        marked_ms.append((time.perf_counter() - t) * 1000)

        report = verify_bytes(data)
        counts["clean"] += report.watermark.present
        manifest = read_manifest(data)
        counts["c2pa_valid"] += manifest.state == "valid"
        decoded = Image.open(io.BytesIO(data)).convert("RGB")
        j, h = wm.read(jpeg(decoded)), wm.read(half(decoded))
        counts["jpeg80"] += j.present
        counts["half"] += h.present
        jpeg_bits.append(j.matched)
        half_bits.append(h.matched)
        counts["unmarked"] += wm.read(image).present
        pixels = np.asarray(decoded).copy()
        pixels[i % decoded.height, (7 * i) % decoded.width] ^= 1  # one pixel, one bit
        counts["tampered"] += (
            verify_bytes(replace_pixels(data, Image.fromarray(pixels))).manifest.state == "tampered"
        )
    reference = sd_reference(images)

    n = len(images)
    cpu = (
        Path("/proc/cpuinfo").read_text().split("model name")[1].split(":")[1].split("\n")[0].strip()
        if Path("/proc/cpuinfo").exists()
        else "?"
    )
    print(
        f"provenance of {n} default-model outputs at {args.size} px (prior/decoder {args.steps} steps; "
        f"generated in {gen_s:.0f} s), {args.threads} threads, {cpu}"
    )
    print(f"{'':44s} {'unclip (dwtDctSvd 48)':>22s} {'SD config (dwtDct 36)':>22s}")
    print(
        f"{'watermark read back, untouched':44s} {counts['clean']:>17d}/{n:<4d} {reference['clean']:>17d}/{n:<4d}"
    )
    print(
        f"{'watermark read back after JPEG quality 80':44s} "
        f"{counts['jpeg80']:>17d}/{n:<4d} {reference['jpeg80']:>17d}/{n:<4d}"
    )
    print(
        f"{'watermark read back after a 50% resize':44s} {counts['half']:>17d}/{n:<4d} {reference['half']:>17d}/{n:<4d}"
    )
    print(
        f"  bits matched (of {wm.BITS}; {wm.MIN_MATCH} needed): JPEG min {min(jpeg_bits)} median "
        f"{statistics.median(jpeg_bits):.0f}; resize min {min(half_bits)} median {statistics.median(half_bits):.0f}"
    )
    print(f"watermark found in the UNMARKED outputs (false positives): {counts['unmarked']}/{n}")
    print(
        f"C2PA manifests valid by c2pa's reader: {counts['c2pa_valid']}/{n}; "
        f"one pixel changed after signing reported tampered: {counts['tampered']}/{n}"
    )
    print(
        f"time per image: plain PNG encode median {statistics.median(plain_ms):.1f} ms; marked and signed PNG "
        f"median {statistics.median(marked_ms):.1f} ms (mean {statistics.mean(marked_ms):.1f}, max "
        f"{max(marked_ms):.1f}); of which the watermark median {statistics.median(embed_ms):.1f} ms"
    )
    print(
        f"marking adds per image: median {statistics.median(marked_ms) - statistics.median(plain_ms):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
