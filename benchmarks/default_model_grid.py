"""The README's grid: a dozen prompts through the default model, one row per prompt.

python benchmarks/default_model_grid.py -o docs/images/default-grid.png [--size 256] [--n 3]
"""

from __future__ import annotations

import argparse

from PIL import Image, ImageDraw

PROMPTS = [
    "red apple",
    "dog face",
    "grinning face with star eyes",
    "slice of pizza",
    "house with garden",
    "rocket",
    "cat face",
    "sun behind cloud",
    "blue heart",
    "crescent moon",
    "high-heeled shoe",
    "t-shirt",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-o", "--out", default="docs/images/default-grid.png")
    ap.add_argument("--model", default=None)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--cell", type=int, default=128, help="cell size in the grid")
    ap.add_argument("--n", type=int, default=3, help="images per prompt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--dtype",
        choices=("auto", "fp32", "bf16"),
        default="fp32",
        help="CPU precision (default fp32, as on CPUs without native bf16; auto: bf16 where the CPU has it)",
    )
    args = ap.parse_args()
    # No output check: NudeNet now and then flags a colour blob, and a refusal would end the run; the
    # grid is looked at before it is committed.
    from unclip.cli.common import torch_dtype
    from unclip.pipeline.unclip_pipeline import UnCLIP

    dtype = torch_dtype(None if args.dtype == "auto" else args.dtype)
    pipe = UnCLIP.from_pretrained(args.model, device="cpu", dtype=dtype, safety=False)
    label_w, cell = 220, args.cell
    grid = Image.new("RGB", (label_w + cell * args.n, cell * len(PROMPTS)), "white")
    draw = ImageDraw.Draw(grid)
    for row, prompt in enumerate(PROMPTS):
        images = pipe.generate(prompt, n=args.n, size=args.size, seed=args.seed + row)
        draw.text((8, row * cell + cell // 2 - 6), prompt, fill="black")
        for col, im in enumerate(images):
            grid.paste(im.resize((cell, cell), Image.LANCZOS), (label_w + col * cell, row * cell))
        print(f"{prompt}: done", flush=True)
    grid.save(args.out, optimize=True)
    print(args.out)


if __name__ == "__main__":
    main()
