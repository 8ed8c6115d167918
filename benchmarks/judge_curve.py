"""The judge's figures for several 64 px decoders: quality against training samples seen.

Each decoder is swapped into the same pipeline (CLIP, prior and sampling settings of --model) and
scored by the independent judge (`unclip.evaluation.judge`, never trained on generated pictures):
- reconstruction: a real emoji of each evaluation concept (Google style, a style the model trained
  on) decoded from its own CLIP image embedding, from pure noise (`UnCLIP.reconstruct`);
- text to image: the concept's caption through the prior and the decoder.
Seen = concepts the model trained on, unseen = held-out concepts of the dataset.

    python benchmarks/judge_curve.py --data data/emoji64 \
        --decoder "cpu round:18256=OLD/decoder/model.safetensors" \
        --decoder "shipped:874000=unclip/assets/default_model" \
        --decoder "fine-tune step 600:893200=runs/cpu-decoder-highnoise/checkpoints/step-00000600"

A decoder is a model directory, a decoder `model.safetensors`, or a training checkpoint folder
(its EMA weights). The number after the colon is the samples it has seen (for the table).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from unclip import UnCLIP
from unclip.evaluation import evaluate
from unclip.evaluation.judge import Judge


def decoder_state(path: Path) -> dict[str, torch.Tensor]:
    if (path / "model_index.json").is_file():
        return load_file(str(path / "decoder" / "model.safetensors"))
    if path.is_file():
        return load_file(str(path))
    from unclip.training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path, with_training_state=False)
    return {k.removeprefix("net."): v for k, v in {**ckpt.model, **(ckpt.ema or {})}.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--decoder", action="append", required=True, metavar="LABEL:SAMPLES=PATH")
    ap.add_argument(
        "--model", default=None, help="model directory for CLIP, prior, sampling (default: embedded)"
    )
    ap.add_argument("--judge", default=None)
    ap.add_argument("--concepts", type=int, default=100, help="per split (seen, unseen)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args()
    torch.manual_seed(0)
    judge = Judge.load(args.judge)
    print(judge.trust)
    dtype = torch.float32 if args.dtype == "fp32" else torch.bfloat16
    # research measurement of the model itself (as `unclip eval --no-safety`)
    pipe = UnCLIP.from_pretrained(args.model, device="cpu", dtype=dtype, safety=False)
    rows = []
    print(
        f"{'decoder':32s} {'samples':>9s}  recon seen t1/t5   recon unseen t1/t5   "
        "text seen t1/t5   text unseen t1/t5   s"
    )
    for spec in args.decoder:
        label_samples, path = spec.split("=", 1)
        label, samples = label_samples.rsplit(":", 1)
        state = decoder_state(Path(path))
        pipe.cascade.decoder.load_state_dict({k: v.to(dtype) for k, v in state.items()})
        # what `unclip eval` computes: text to image and reconstruction, judged (plus the CLIP figures)
        report = evaluate(
            pipe, args.data, per_split=args.concepts, size=64, seed=args.seed, batch=args.batch, judge=judge
        )
        row: dict = {
            "decoder": label,
            "samples": int(samples),
            "path": path,
            "seconds": round(report.seconds, 1),
        }
        for name, split in (("seen", report.seen), ("unseen", report.unseen)):
            if split is not None and split.reconstruction is not None and split.judge is not None:
                row[f"recon_{name}"] = [split.reconstruction.top1, split.reconstruction.top5]
                row[f"text_{name}"] = [split.judge.top1, split.judge.top5]
        rows.append(row)

        def pair(key: str, row: dict = row) -> str:
            v = row.get(key)
            return f"{v[0]:6.1%} / {v[1]:6.1%}" if v else "     -     "

        print(
            f"{label:32s} {int(samples):9d}  {pair('recon_seen')}  {pair('recon_unseen')}    "
            f"{pair('text_seen')}  {pair('text_unseen')}  {row['seconds']:.0f}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
