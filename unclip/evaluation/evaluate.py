"""`evaluate`: sample a fixed list of prompts and score the images, with an independent judge and with
the model's own CLIP.

- Judge (`unclip.evaluation.judge`): does an emoji-concept classifier trained on real emoji only name
  the prompt's concept among all it knows (top-1, top-5)? It is not the model's CLIP, so it is the
  figure that says whether a person would recognise the picture; its report says how well it names a
  style it never saw. Also for reconstruction: a real image of each concept decoded from its own CLIP
  image embedding (`UnCLIP.reconstruct`), which leaves the prior out.
- Retrieval: is the generated image's CLIP embedding closest to its own caption among all the
  evaluation captions (top-1, top-5)? Reported for seen and unseen concepts separately. The model's
  CLIP judging the model's pictures accepts colour shapes as matches: a weak signal.
- FID in CLIP image-embedding space: Fréchet distance between the embeddings of generated images and
  of real images of the same concepts (seen: training images; unseen: held-out images).

A prompt or generated image the content policy refuses does not end the run: it counts as a
retrieval miss, is left out of the FID, and is reported (`refused`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from unclip.errors import InputError
from unclip.evaluation.judge import Judge, JudgeScores
from unclip.evaluation.metrics import frechet_distance, retrieval_accuracy
from unclip.evaluation.prompts import EvalConcept, load_concepts
from unclip.safety import ContentPolicyViolation
from unclip.utils.checks import MAX_SEED, require_counts


@dataclass
class SplitScores:
    prompts: int
    top1: float
    top5: float
    fid_clip: float
    real_images: int
    refused: int = 0  # prompts or outputs refused by the content policy (counted as misses)
    judge: JudgeScores | None = None  # the judge on the text-to-image pictures (refusals count as misses)
    reconstruction: JudgeScores | None = None  # the judge on real images decoded from their CLIP embedding


@dataclass
class EvalReport:
    seen: SplitScores
    unseen: SplitScores | None
    size: int
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)
    judge: str = ""  # how far to trust the judge (its accuracy on a style it never trained on)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lines = [f"evaluation at {self.size} px ({self.seconds:.0f} s)"]
        if self.judge:
            lines.append(f"  {self.judge}")
        splits = [(name, s) for name, s in (("seen", self.seen), ("unseen", self.unseen)) if s is not None]
        for name, s in splits:
            if s.judge is not None:
                lines.append(
                    f"  judge, text to image   {name:6s} {s.judge.images:4d} images: top-1 {s.judge.top1:6.1%}  "
                    f"top-5 {s.judge.top5:6.1%}" + _unknown(s.judge)
                )
            if s.reconstruction is not None:
                r = s.reconstruction
                lines.append(
                    f"  judge, reconstruction  {name:6s} {r.images:4d} images: top-1 {r.top1:6.1%}  "
                    f"top-5 {r.top5:6.1%} (64 px, from real images' CLIP embeddings)" + _unknown(r)
                )
        for name, s in splits:
            lines.append(
                f"  model's CLIP retrieval {name:6s} {s.prompts:4d} prompts: top-1 {s.top1:6.1%}  top-5 {s.top5:6.1%}  "
                f"CLIP-FID {s.fid_clip:7.4f} (vs {s.real_images} real images)"
                + (f"; {s.refused} refused by the content policy" if s.refused else "")
            )
        return "\n".join(lines)


def _unknown(scores: JudgeScores) -> str:
    return f"; {scores.unknown} concepts the judge does not know, left out" if scores.unknown else ""


@torch.inference_mode()
def _embed_images(pipe, images: list[Image.Image], batch: int = 64) -> torch.Tensor:  # type: ignore[no-untyped-def]
    out = [pipe.cascade.clip.embed_pil(images[i : i + batch]) for i in range(0, len(images), batch)]
    return torch.cat(out).float().cpu()


def _load_real(paths: list[Path]) -> list[Image.Image]:
    """The real images as RGB; an unreadable one is an InputError naming its file."""
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        except (OSError, Image.DecompressionBombError) as e:
            raise InputError(f"{path}: cannot read this real image of the dataset ({e})") from None
    return images


def evaluate(
    pipe,  # type: ignore[no-untyped-def]
    dataset: str | Path,
    per_split: int = 100,
    size: int = 64,
    seed: int = 0,
    batch: int = 16,
    max_real_per_concept: int = 4,
    progress: bool = False,
    save_dir: str | Path | None = None,
    judge: Judge | None = None,
    reconstruct: bool = True,
    reconstruct_style: str = "google",
    **stage_settings: Any,
) -> EvalReport:
    """Scores on up to `per_split` seen and unseen concepts of `dataset`. With a `judge`, also its
    figures for the text-to-image pictures and (`reconstruct`) for each concept's real image of
    `reconstruct_style` (else its first real image) decoded from its own CLIP image embedding."""
    t0 = time.perf_counter()
    require_counts(per_split=per_split, batch=batch, max_real_per_concept=max_real_per_concept)
    concepts = load_concepts(dataset, per_split)
    captions = [c.caption for c in concepts]
    # The real images are read before any generation, so a broken one fails the run at once.
    real_images = {
        split: _load_real([p for c in concepts if c.split == split for p in c.images[:max_real_per_concept]])
        for split in ("train", "holdout")
    }
    generated: list[Image.Image | None] = []  # None: refused by the content policy
    iterator = range(0, len(captions), batch)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="eval", unit="batch")
    for i in iterator:
        generated += _generate(
            pipe, captions[i : i + batch], size, (seed + i) % (MAX_SEED + 1), stage_settings
        )
    recon: list[Image.Image | None] = []
    if judge is not None and reconstruct:
        sources = _load_real([c.image_of_style(reconstruct_style) for c in concepts])
        for i in range(0, len(sources), batch):
            recon += _reconstruct(pipe, sources[i : i + batch], (seed + i) % (MAX_SEED + 1), stage_settings)
    if save_dir is not None:
        save = Path(save_dir)
        save.mkdir(parents=True, exist_ok=True)
        for j, (c, im) in enumerate(zip(concepts, generated)):
            if im is not None:
                im.save(save / f"{j:04d}-{c.split}.png")
        for j, (c, im) in enumerate(zip(concepts, recon)):
            if im is not None:
                im.save(save / f"{j:04d}-{c.split}-reconstruction.png")
    with torch.inference_mode():
        text = pipe.encode_prompts(captions).embeds.float().cpu()
    kept = [i for i, im in enumerate(generated) if im is not None]
    gen = torch.full((len(concepts), text.shape[1]), float("nan"))
    if kept:
        gen[kept] = _embed_images(pipe, [generated[i] for i in kept])  # type: ignore[misc]
    targets = torch.arange(len(concepts))
    scores: dict[str, SplitScores | None] = {}
    for split in ("train", "holdout"):
        idx = [i for i, c in enumerate(concepts) if c.split == split]
        if not idx:
            scores[split] = None
            continue
        ok = [i for i in idx if generated[i] is not None]
        acc = retrieval_accuracy(gen[ok], text, targets[ok]) if ok else {1: 0.0, 5: 0.0}
        share = len(ok) / len(idx)  # a refused prompt is a miss
        real = _embed_images(pipe, real_images[split])
        scores[split] = SplitScores(
            prompts=len(idx),
            top1=acc[1] * share,
            top5=acc[5] * share,
            fid_clip=frechet_distance(gen[ok], real) if len(ok) > 1 else float("nan"),
            real_images=len(real_images[split]),
            refused=len(idx) - len(ok),
            judge=_judged(judge, concepts, generated, idx) if judge is not None else None,
            reconstruction=_judged(judge, concepts, recon, idx) if judge is not None and recon else None,
        )
    seen = scores["train"]
    assert seen is not None, "the dataset has no training concepts"
    return EvalReport(
        seen=seen,
        unseen=scores["holdout"],
        size=size,
        seconds=time.perf_counter() - t0,
        settings={"per_split": per_split, "seed": seed, **stage_settings},
        judge=judge.trust if judge is not None else "",
    )


def _judged(
    judge: Judge, concepts: list[EvalConcept], images: list[Image.Image | None], idx: list[int]
) -> JudgeScores:
    """The judge's scores on `images[idx]`; a refused (None) picture counts as a miss."""
    ok = [i for i in idx if images[i] is not None]
    s = judge.score([images[i] for i in ok], [concepts[i].caption for i in ok])  # type: ignore[misc]
    known = s.images + (len(idx) - len(ok))  # refusals are misses among the known concepts
    share = s.images / known if known else 0.0
    return JudgeScores(images=known, top1=s.top1 * share, top5=s.top5 * share, unknown=s.unknown)


def _reconstruct(
    pipe, images: list[Image.Image], seed: int, settings: dict[str, Any]
) -> list[Image.Image | None]:  # type: ignore[no-untyped-def]
    """Each image decoded from its own CLIP embedding at 64 px; refused ones (by the policy) are None."""
    decoder_only = {k: v for k, v in settings.items() if k.startswith("decoder_")}
    try:
        return list(pipe.reconstruct(images, size=64, seed=seed, **decoder_only))
    except ContentPolicyViolation:
        if len(images) == 1:
            return [None]
    return [
        im
        for j, one in enumerate(images)
        for im in _reconstruct(pipe, [one], (seed + j) % (MAX_SEED + 1), settings)
    ]


def _generate(
    pipe, captions: list[str], size: int, seed: int, settings: dict[str, Any]
) -> list[Image.Image | None]:  # type: ignore[no-untyped-def]
    """One image per caption; when the policy refuses the batch, caption by caption, None for refusals."""
    try:
        return list(pipe.generate(captions, n=1, size=size, seed=seed, **settings))
    except ContentPolicyViolation:
        if len(captions) == 1:
            return [None]
    return [
        im
        for j, c in enumerate(captions)
        for im in _generate(pipe, [c], size, (seed + j) % (MAX_SEED + 1), settings)
    ]
