"""`unclip embed --clip RUN --data SOURCE --out DIR`: precompute CLIP embeddings (resumable)."""

from __future__ import annotations

import argparse
import sys

from unclip.cli.common import check_out_dir, non_negative_int, positive_int


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "embed",
        help="precompute CLIP embeddings of a dataset for prior/decoder training",
        description="Compute the CLIP image and text embeddings of every record into shards (as DALL-E 2 "
        "trains its prior and decoder). Rerun the same command to resume; run under `accelerate launch` "
        "to split the shards over GPUs. Point data.embeddings of a prior/decoder config at --out.",
    )
    p.add_argument("--clip", required=True, metavar="RUN", help="CLIP run folder or model directory")
    p.add_argument("--data", required=True, metavar="SOURCE", help="dataset: folder, tar shards or manifest")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the embedding shards")
    p.add_argument("--format", default="auto", choices=("auto", "folder", "shards", "manifest"))
    p.add_argument("--split", default="train", help='manifest split to keep ("" for all; default train)')
    p.add_argument("--image-column", default="", help="manifest image column")
    p.add_argument("--caption-column", default="", help="manifest caption column")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--shard-size", type=positive_int, default=4096, help="records per shard (default 4096)")
    p.add_argument(
        "--hidden",
        action="store_true",
        help="also store caption token features (large; skips the text tower in training)",
    )
    p.add_argument("--num-workers", type=non_negative_int, default=2, help="DataLoader workers (default 2)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from unclip.data.config import DataConfig
    from unclip.training.embed import embed_dataset

    check_out_dir(args.out, "--out")  # created by the first write: a run that fails early leaves nothing
    if args.threads:
        torch.set_num_threads(args.threads)
    data = DataConfig(
        source=args.data,
        format=args.format,
        split=args.split,
        image_column=args.image_column,
        caption_column=args.caption_column,
        num_workers=args.num_workers,
    )
    embed_dataset(
        args.clip,
        data,
        args.out,
        args.batch_size,
        args.shard_size,
        args.hidden,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(args.out)
    return 0
