"""Karlo at its full widths (random weights): unclip's conversion equals diffusers, and images/s of both.

Prepared for a GPU session (about 2-4 minutes on one H100; nothing is downloaded). Steps:

1. Build diffusers' Karlo networks at the published sizes (prior 20 x 2048, decoder 320-1280 with
   attention, 64->256 super-resolution pair, CLIP ViT-L/14 text and image towers) on the GPU, every
   parameter random, and convert them in memory with `unclip.convert.convert_karlo`.
2. fp32 (TF32 off): each component's output vs diffusers' (max abs diff, padded captions included);
   then the whole text-to-image cascade with Karlo's settings (25 / 25 / 7 DDPM steps, guidance 4 / 8,
   same CUDA generator) vs `UnCLIPPipeline` as shipped and with float64 scheduler arithmetic.
3. fp16: images/s of diffusers' `UnCLIPPipeline` and of `UnCLIP.generate_tensors`, batch 4 at 256 px.

    python benchmarks/karlo_gpu.py                  # writes $OUT/karlo_gpu.json if $OUT is set
    python benchmarks/karlo_gpu.py --sizes tiny --device cpu --speed-dtype fp32 --repeats 1  # CPU dry run
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

PROMPTS = [
    "a high-resolution photograph of a big red frog on a green leaf",
    "a bowl of soup",
    "a portrait of an old monk, highly detailed, in the drawing style of Rene Magritte",
    "",
]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def maxdiff(a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
    return {
        "max_abs_diff": (a.float() - b.float()).abs().max().item(),
        "ref_max_abs": b.float().abs().max().item(),
    }


@torch.no_grad()
def components(
    parts: dict[str, Any], cascade: Any, tok: Any, device: torch.device, sizes: Any
) -> dict[str, Any]:
    from unclip.models.clip import TextEncoding
    from unclip.models.tokenizer import tokenize

    g = torch.Generator(device=device).manual_seed(0)
    out: dict[str, Any] = {}
    enc = tok(
        PROMPTS[:3], padding="max_length", max_length=sizes.max_tokens, truncation=True, return_tensors="pt"
    )
    ids, mask = enc.input_ids.to(device), enc.attention_mask.bool().to(device)
    ref = parts["text_encoder"](ids)
    ours_tokens = tokenize(cascade.tokenizer, PROMPTS[:3], sizes.max_tokens)
    ours = cascade.clip.encode_text(ours_tokens.ids.to(device), ours_tokens.mask.to(device))
    out["clip_text_embeds"] = maxdiff(ours.embeds, ref.text_embeds)
    out["clip_text_hidden"] = maxdiff(ours.hidden[mask], ref.last_hidden_state[mask])
    pixels = torch.randn(2, 3, sizes.image_size, sizes.image_size, generator=g, device=device)
    out["clip_image"] = maxdiff(
        cascade.clip.encode_image(pixels), parts["image_encoder"](pixels).image_embeds
    )

    text = TextEncoding(ref.text_embeds, ref.last_hidden_state, mask)
    x = torch.randn(3, sizes.clip_dim, generator=g, device=device)
    for t in (999, 500, 0):
        r = parts["prior"](
            x, timestep=t, proj_embedding=text.embeds, encoder_hidden_states=text.hidden, attention_mask=mask
        ).predicted_image_embedding
        out[f"prior_t{t}"] = maxdiff(cascade.prior(x, torch.full((3,), t, device=device), text), r)

    image_embeds = torch.randn(3, sizes.clip_dim, generator=g, device=device)
    hidden, extra = parts["text_proj"](
        image_embeddings=image_embeds,
        prompt_embeds=text.embeds,
        text_encoder_hidden_states=text.hidden,
        do_classifier_free_guidance=False,
    )
    dmask = F.pad(mask, (4, 0), value=True)
    xs = torch.randn(3, 3, sizes.decoder_size, sizes.decoder_size, generator=g, device=device)
    for t in (999, 300):
        r = parts["decoder"](
            xs, t, encoder_hidden_states=hidden, class_labels=extra, attention_mask=dmask
        ).sample
        out[f"decoder_t{t}"] = maxdiff(
            cascade.decoder(xs, torch.full((3,), t, device=device), image_embeds, text), r
        )

    up = cascade.upsampler(256)
    xs = torch.randn(1, 3, sizes.sr_size, sizes.sr_size, generator=g, device=device)
    low = torch.randn(1, 3, sizes.sr_size, sizes.sr_size, generator=g, device=device)
    for name, last in (("super_res_first", False), ("super_res_last", True)):
        r = parts[name](torch.cat([xs, low], dim=1), 200).sample
        out[name] = maxdiff(up.denoise(xs, torch.full((1,), 200, device=device), low, last_step=last), r)
    return out


def diffusers_images(
    parts: dict[str, Any], tok: Any, prompts: list[str], device: torch.device, seed: int
) -> torch.Tensor:
    from unclip.convert.reference import text_pipeline

    pipe = text_pipeline(parts, tok)
    pipe.set_progress_bar_config(disable=True)
    images = pipe(
        prompts, generator=torch.Generator(device=device).manual_seed(seed), output_type="np"
    ).images
    return torch.from_numpy(images).permute(0, 3, 1, 2).float()  # [B, 3, H, W] in [0, 1], on the CPU


def unclip_images(pipe: Any, prompts: list[str], seed: int) -> torch.Tensor:
    return ((pipe.generate_tensors(prompts, n=1, size=256, seed=seed).float() + 1) / 2).clamp(0, 1)


@torch.no_grad()
def end_to_end(parts: dict[str, Any], cascade: Any, tok: Any, device: torch.device) -> dict[str, Any]:
    from unclip.convert.reference import use_float64_schedulers
    from unclip.pipeline.unclip_pipeline import UnCLIP

    prompts = PROMPTS[:2]
    ours = unclip_images(UnCLIP(cascade, device=device), prompts, seed=7).cpu()
    ref = diffusers_images(parts, tok, prompts, device, seed=7).cpu()
    exact_parts = dict(parts)
    use_float64_schedulers(exact_parts)
    exact = diffusers_images(exact_parts, tok, prompts, device, seed=7).cpu()
    result = {}
    for name, other in (("vs_diffusers", ref), ("vs_diffusers_float64_scheduler", exact)):
        d = (ours - other).abs()
        result[name] = {
            "mean_abs_diff": d.mean().item(),
            "max_abs_diff": d.max().item(),
            "frac_above_0.01": (d > 0.01).float().mean().item(),
        }
    result["images_differ_between_prompts"] = (ours[0] - ours[1]).abs().mean().item()
    return result


@torch.no_grad()
def speed(
    parts: dict[str, Any],
    cascade: Any,
    tok: Any,
    device: torch.device,
    batch: int,
    repeats: int,
    dtype: torch.dtype,
) -> dict[str, Any]:
    from unclip.pipeline.unclip_pipeline import UnCLIP

    prompts = (PROMPTS * batch)[:batch]
    for name in ("prior", "decoder", "text_proj", "super_res_first", "super_res_last", "text_encoder"):
        parts[name].to(dtype)
    ours = UnCLIP(cascade.to(dtype=dtype), device=device)
    runs = {
        "diffusers": lambda: diffusers_images(parts, tok, prompts, device, seed=1),
        "unclip": lambda: unclip_images(ours, prompts, seed=1),
    }
    out: dict[str, Any] = {"batch": batch, "repeats": repeats, "dtype": str(dtype).removeprefix("torch.")}
    for name, run in runs.items():
        run()  # warm-up (kernels, cuDNN autotuning)
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            images = run()
        sync(device)
        seconds = (time.perf_counter() - start) / repeats
        out[name] = {
            "seconds_per_batch": seconds,
            "images_per_s": batch / seconds,
            "finite": bool(torch.isfinite(images).all()),
        }
    out["unclip_over_diffusers"] = out["unclip"]["images_per_s"] / out["diffusers"]["images_per_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", choices=("full", "tiny"), default="full")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument(
        "--speed-only",
        action="store_true",
        help="only the speed comparison (short leases; it casts the nets, so the fp32 checks cannot follow)",
    )
    ap.add_argument(
        "--speed-dtype", choices=("fp16", "bf16", "fp32"), default="fp16", help="fp32 for a CPU dry run"
    )
    args = ap.parse_args()

    import diffusers
    import transformers

    from unclip.cascade.presets import SAMPLE_CAPTIONS
    from unclip.convert import MemorySource, convert_karlo
    from unclip.convert.reference import KARLO_FULL, KARLO_TINY, build_reference, karlo_tokenizer
    from unclip.models.tokenizer import train_tokenizer

    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 comparisons in true fp32
    torch.backends.cudnn.allow_tf32 = False
    sizes = KARLO_FULL if args.sizes == "full" else KARLO_TINY
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "sizes": args.sizes,
    }
    t0 = time.perf_counter()
    tok = train_tokenizer(SAMPLE_CAPTIONS, vocab_size=1024, min_frequency=1)
    tok.model_max_length = sizes.max_tokens
    karlo_tok = karlo_tokenizer(tok, tempfile.mkdtemp(prefix="karlo_tok_"))
    with torch.device(device):
        parts = build_reference(sizes, karlo_tok, seed=0)
        cascade, _ = convert_karlo([MemorySource(parts, tokenizer=tok)])
    cascade.eval()
    result["build_and_convert_s"] = time.perf_counter() - t0
    nets = (
        "prior",
        "text_proj",
        "decoder",
        "super_res_first",
        "super_res_last",
        "text_encoder",
        "image_encoder",
    )
    # Stored tensors (unclip keeps the prior's CLIP statistics as buffers and adds CLIP's logit_scale).
    result["stored_values"] = {
        "diffusers": sum(t.numel() for n in nets for t in parts[n].state_dict().values()),
        "unclip": sum(t.numel() for m in cascade.modules.values() for t in m.state_dict().values()),
    }
    print(json.dumps(result, indent=2), flush=True)

    def run_speed() -> None:
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.speed_dtype]
        result["speed"] = speed(parts, cascade, karlo_tok, device, args.batch, args.repeats, dtype)
        print(json.dumps(result["speed"], indent=2), flush=True)

    if args.speed_only:
        run_speed()
        args.skip_speed = True
    else:
        t = time.perf_counter()
        result["components_fp32"] = components(parts, cascade, karlo_tok, device, sizes)
        result["components_max_abs_diff"] = max(v["max_abs_diff"] for v in result["components_fp32"].values())
        result["components_s"] = time.perf_counter() - t
        print(json.dumps(result["components_fp32"], indent=2), flush=True)

        t = time.perf_counter()
        result["end_to_end_fp32"] = end_to_end(parts, cascade, karlo_tok, device)
        result["end_to_end_s"] = time.perf_counter() - t
        print(json.dumps(result["end_to_end_fp32"], indent=2), flush=True)

    if not args.skip_speed:
        run_speed()
    result["total_s"] = time.perf_counter() - t0
    out_dir = os.environ.get("OUT")
    if out_dir:
        path = Path(out_dir) / "karlo_gpu.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
