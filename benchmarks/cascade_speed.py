"""Seconds per 256 px image for the full cascade on CPU: unclip vs diffusers' UnCLIPPipeline.

Both run the same "bench" network sizes with random weights and the same step counts (prior 25,
decoder 25, 64->256 upsampler 7) and guidance (prior 4, decoder 8). Prints the parameter counts of
both (which must agree within 10%), seconds per image, images per second and the ratio.

    python benchmarks/cascade_speed.py [--threads 2] [--batch 1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import torch


def build_unclip(tokenizer, dtype: torch.dtype = torch.float32):  # type: ignore[no-untyped-def]
    from unclip.cascade.presets import build_cascade
    from unclip.pipeline.unclip_pipeline import UnCLIP

    cascade = build_cascade("bench", tokenizer=tokenizer).to(dtype=dtype)
    return UnCLIP(cascade, device="cpu", safety=False)


def build_diffusers(tokenizer):  # type: ignore[no-untyped-def]
    from diffusers import PriorTransformer, UnCLIPScheduler, UNet2DConditionModel, UNet2DModel
    from diffusers.pipelines.deprecated.unclip import UnCLIPPipeline, UnCLIPTextProjModel
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    torch.manual_seed(0)
    text_encoder = CLIPTextModelWithProjection(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=256,
            intermediate_size=1024,
            num_hidden_layers=4,
            num_attention_heads=4,
            max_position_embeddings=77,
            projection_dim=256,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    prior = PriorTransformer(
        num_attention_heads=4,
        attention_head_dim=64,
        num_layers=6,
        embedding_dim=256,
        num_embeddings=77,
        additional_embeddings=4,
    )
    text_proj = UnCLIPTextProjModel(
        clip_extra_context_tokens=4, clip_embeddings_dim=256, time_embed_dim=256, cross_attention_dim=256
    )
    decoder = UNet2DConditionModel(
        sample_size=64,
        layers_per_block=2,
        block_out_channels=(64, 128, 192, 256),
        down_block_types=("ResnetDownsampleBlock2D",) + ("SimpleCrossAttnDownBlock2D",) * 3,
        up_block_types=("SimpleCrossAttnUpBlock2D",) * 3 + ("ResnetUpsampleBlock2D",),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn",
        in_channels=3,
        out_channels=6,
        cross_attention_dim=256,
        class_embed_type="identity",
        attention_head_dim=64,
        resnet_time_scale_shift="scale_shift",
    )
    super_res = UNet2DModel(
        sample_size=256,
        layers_per_block=2,
        block_out_channels=(32, 64, 128, 256),
        down_block_types=("ResnetDownsampleBlock2D",) * 4,
        up_block_types=("ResnetUpsampleBlock2D",) * 4,
        in_channels=6,
        out_channels=3,
        add_attention=False,
    )
    pipe = UnCLIPPipeline(
        prior=prior,
        decoder=decoder,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_proj=text_proj,
        super_res_first=super_res,
        super_res_last=super_res,  # one network for every step, like ours
        prior_scheduler=UnCLIPScheduler(
            variance_type="fixed_small_log", prediction_type="sample", clip_sample_range=5.0
        ),
        decoder_scheduler=UnCLIPScheduler(variance_type="learned_range"),
        super_res_scheduler=UnCLIPScheduler(variance_type="fixed_small_log"),
    )
    pipe.set_progress_bar_config(disable=True)
    modules = {
        "text_encoder": text_encoder,
        "prior": prior,
        "text_proj": text_proj,
        "decoder": decoder,
        "super_res": super_res,
    }
    return pipe, modules


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1, help="images per call")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--dtype",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="unclip's weights: auto = bf16 where the CPU computes bf16 natively (AVX512-BF16/AMX), else fp32",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from unclip.utils.device import auto_dtype, cpu_has_native_bf16

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "auto": auto_dtype(torch.device("cpu"))}[
        args.dtype
    ]
    print(
        f"CPU: native bf16 {'yes' if cpu_has_native_bf16() else 'no'}; torch {torch.__version__}; "
        f"{torch.backends.cpu.get_cpu_capability()}; unclip runs in {dtype}"
    )

    from unclip.cascade.presets import SAMPLE_CAPTIONS
    from unclip.models.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(SAMPLE_CAPTIONS, vocab_size=1024, min_frequency=1)
    ours = build_unclip(tokenizer, dtype)
    peer, peer_modules = build_diffusers(tokenizer)

    c = ours.cascade
    ours_params = {
        "clip text": count(c.clip.model.text_model) + count(c.clip.model.text_projection),
        "prior": count(c.prior),
        "decoder": count(c.decoder),
        "upsampler": count(c.upsampler(256)),
    }
    peer_params = {
        "clip text": count(peer_modules["text_encoder"]),
        "prior": count(peer_modules["prior"]),
        "decoder": count(peer_modules["decoder"]) + count(peer_modules["text_proj"]),
        "upsampler": count(peer_modules["super_res"]),
    }
    print(f"{'parameters':12s} {'unclip':>12s} {'diffusers':>12s}")
    for k, n in ours_params.items():
        print(f"{k:12s} {n:12,d} {peer_params[k]:12,d}")
    total_o, total_p = sum(ours_params.values()), sum(peer_params.values())
    print(f"{'total':12s} {total_o:12,d} {total_p:12,d}  (ratio {total_o / total_p:.3f})")

    prompts = ["a red apple on a wooden table"] * args.batch
    settings = {
        "prior_steps": 25,
        "decoder_steps": 25,
        "upsampler_256_steps": 7,
        "prior_guidance": 4.0,
        "decoder_guidance": 8.0,
        "prior_sampler": "ddpm",
        "decoder_sampler": "ddpm",
        "upsampler_256_sampler": "ddpm",
        "prior_candidates": 1,
    }

    def run_ours() -> None:
        ours.generate_tensors(prompts, n=1, size=256, seed=0, **settings)

    def run_peer() -> None:
        with torch.inference_mode():
            peer(
                prompts,
                prior_num_inference_steps=25,
                decoder_num_inference_steps=25,
                super_res_num_inference_steps=7,
                prior_guidance_scale=4.0,
                decoder_guidance_scale=8.0,
                generator=torch.Generator().manual_seed(0),
                output_type="np",
            )

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        fn()  # warm-up
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return best / args.batch

    # Interleave so that background load affects both alike.
    t_peer = timed(run_peer)
    t_ours = timed(run_ours)
    print(f"\nseconds per 256 px image (threads={args.threads}, batch={args.batch}, best of {args.repeats}):")
    print(f"  diffusers UnCLIPPipeline: {t_peer:.2f} s  ({1 / t_peer:.3f} images/s)")
    print(f"  unclip:                   {t_ours:.2f} s  ({1 / t_ours:.3f} images/s)")
    print(f"  speed-up: {t_peer / t_ours:.2f}x")
    if dtype != torch.float32:
        ref = build_unclip(tokenizer, torch.float32).generate_tensors(
            prompts[:1], size=256, seed=0, **settings
        )
        got = ours.generate_tensors(prompts[:1], size=256, seed=0, **settings)
        print(
            f"  {dtype} vs fp32 image difference: mean {((ref - got).abs() / 2).mean().item():.4f} in [0, 1]"
        )


if __name__ == "__main__":
    main()
