"""Does the model's CLIP image embedding carry the concept? Image -> caption retrieval of real emoji.

For each style of an `unclip data emoji` folder: embed every picture with the model's CLIP image
encoder and every concept name with its text encoder, and report how often the picture's own concept
is the nearest caption (top-1) or among the 5 nearest (top-5), among all concepts of the folder, for
the concepts the model trained on (seen) and the held-out ones (unseen). A style the model never
trained on (openmoji, fluent-flat, emojione) shows whether the embedding holds the concept or the style.

    python benchmarks/clip_retrieval.py --data data/judge64
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from PIL import Image

from unclip import UnCLIP
from unclip.evaluation.metrics import retrieval_accuracy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    rows = [
        json.loads(line)
        for line in (Path(args.data) / "metadata.jsonl").read_text().splitlines()
        if line.strip()
    ]
    concepts = sorted({r["concept"] for r in rows})
    split = {r["concept"]: r.get("split", "train") for r in rows}
    pipe = UnCLIP.from_pretrained(args.model, device="cpu", dtype=torch.float32, safety=False)
    with torch.inference_mode():
        text = torch.cat(
            [pipe.encode_prompts(concepts[i : i + 256]).embeds.float() for i in range(0, len(concepts), 256)]
        )
    index = {c: i for i, c in enumerate(concepts)}
    print(f"image -> caption retrieval among {len(concepts)} concepts (chance top-5 {5 / len(concepts):.2%})")
    for style in sorted({r["style"] for r in rows}):
        mine = [r for r in rows if r["style"] == style]
        images = []
        for r in mine:
            with Image.open(Path(args.data) / r["file"]) as im:
                images.append(im.convert("RGB"))
        with torch.inference_mode():
            emb = torch.cat(
                [pipe.cascade.clip.embed_pil(images[i : i + 256]).float() for i in range(0, len(images), 256)]
            )
        targets = torch.tensor([index[r["concept"]] for r in mine])
        out = []
        for name in ("train", "holdout"):
            sel = torch.tensor([split[r["concept"]] == name for r in mine])
            acc = retrieval_accuracy(emb[sel], text, targets[sel])
            out.append(
                f"{'seen' if name == 'train' else 'unseen'} ({int(sel.sum())}) top-1 {acc[1]:6.1%} top-5 {acc[5]:6.1%}"
            )
        print(f"  {style:12s} " + "   ".join(out), flush=True)


if __name__ == "__main__":
    main()
