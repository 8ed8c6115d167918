"""Each converted network computes what diffusers' Karlo network computes (fp32, max abs diff < 1e-4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from unclip.models.clip import TextEncoding
from unclip.models.tokenizer import tokenize

TOL = 1e-4
PROMPTS = ["a red apple", "", "a cat sitting on a mat with a dog in the park at sunset on the sea"]


def maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.float() - b.float()).abs().max().item()


def reference_text(parts, karlo_tok, prompts=PROMPTS) -> TextEncoding:
    enc = karlo_tok(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
    out = parts["text_encoder"](enc.input_ids)
    return TextEncoding(out.text_embeds, out.last_hidden_state, enc.attention_mask.bool())


@torch.no_grad()
def test_clip_text_tokens_and_encodings_match(parts, karlo_tok, converted):
    ref = reference_text(parts, karlo_tok)
    assert ref.mask.sum(1).tolist()[:2] == [5, 2] and 5 < ref.mask[2].sum() < 77  # padded captions
    tokens = tokenize(converted.tokenizer, PROMPTS, converted.clip.config.text_max_tokens)
    ids = karlo_tok(
        PROMPTS, padding="max_length", max_length=77, truncation=True, return_tensors="pt"
    ).input_ids
    assert torch.equal(tokens.mask, ref.mask)
    assert torch.equal(tokens.ids[tokens.mask], ids[ref.mask])  # only the padding token differs ("!" vs end)
    ours = converted.clip.encode_text(tokens.ids, tokens.mask)
    assert maxdiff(ours.embeds, ref.embeds) < TOL
    assert maxdiff(ours.hidden[ref.mask], ref.hidden[ref.mask]) < TOL


@torch.no_grad()
def test_clip_image_embeddings_match(parts, converted):
    pixels = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    ref = parts["image_encoder"](pixels).image_embeds
    assert maxdiff(converted.clip.encode_image(pixels), ref) < TOL
    assert converted.clip.config.image_tower


@torch.no_grad()
def test_prior_matches_with_padded_captions(parts, karlo_tok, converted):
    text = reference_text(parts, karlo_tok)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 24, generator=g)
    for t in (999, 500, 0):
        ref = parts["prior"](
            x,
            timestep=t,
            proj_embedding=text.embeds,
            encoder_hidden_states=text.hidden,
            attention_mask=text.mask,
        ).predicted_image_embedding
        ours = converted.prior(x, torch.full((3,), t), text)
        assert maxdiff(ours, ref) < TOL, t
    z = torch.randn(3, 24, generator=g)
    assert maxdiff(converted.prior.denormalize(z), parts["prior"].post_process_latents(z)) < TOL


@torch.no_grad()
def test_decoder_with_text_projection_matches(parts, karlo_tok, converted):
    text = reference_text(parts, karlo_tok)
    g = torch.Generator().manual_seed(2)
    image_embeds = torch.randn(3, 24, generator=g)
    x = torch.randn(3, 3, 16, 16, generator=g)
    hidden, extra = parts["text_proj"](
        image_embeddings=image_embeds,
        prompt_embeds=text.embeds,
        text_encoder_hidden_states=text.hidden,
        do_classifier_free_guidance=False,
    )
    mask = F.pad(text.mask, (4, 0), value=True)
    _, tokens, our_mask = converted.decoder.context_tokens(image_embeds, text)
    assert maxdiff(tokens, hidden) < TOL  # includes the permuted extra CLIP tokens
    assert torch.equal(our_mask, mask)
    for t in (999, 300):
        ref = parts["decoder"](
            x, t, encoder_hidden_states=hidden, class_labels=extra, attention_mask=mask
        ).sample
        ours = converted.decoder(x, torch.full((3,), t), image_embeds, text)
        assert maxdiff(ours, ref) < TOL, t
        cond = converted.decoder.condition(image_embeds, text)  # the path the sampler uses
        assert maxdiff(converted.decoder.denoise(x, torch.full((3,), t), cond), ref) < TOL


@torch.no_grad()
def test_decoder_guidance_rows_use_the_learned_null_embedding(parts, karlo_tok, converted):
    text = reference_text(parts, karlo_tok, ["", "a red apple"])
    embeds = torch.randn(1, 24, generator=torch.Generator().manual_seed(3))
    hidden, extra = parts["text_proj"](
        image_embeddings=embeds,
        prompt_embeds=text.embeds,
        text_encoder_hidden_states=text.hidden,
        do_classifier_free_guidance=True,
    )
    both = torch.cat([converted.decoder.null_image_embeds(1), embeds])
    ours_extra, ours_tokens, _ = converted.decoder.context_tokens(both, text)
    assert maxdiff(ours_extra, extra) < TOL and maxdiff(ours_tokens, hidden) < TOL


@torch.no_grad()
def test_super_resolution_first_and_last_match(parts, converted):
    up = converted.upsampler(256)
    assert up.config.separate_last_step and up.config.low_res == 16 and up.config.high_res == 256
    g = torch.Generator().manual_seed(4)
    x, low = torch.randn(2, 3, 32, 32, generator=g), torch.randn(2, 3, 32, 32, generator=g)
    for name, last in (("super_res_first", False), ("super_res_last", True)):
        ref = parts[name](torch.cat([x, low], dim=1), 200).sample
        assert maxdiff(up.denoise(x, torch.full((2,), 200), low, last_step=last), ref) < TOL, name
    assert (
        maxdiff(
            up.unet(torch.cat([x, low], 1), torch.full((2,), 5)),
            up.unet_last(torch.cat([x, low], 1), torch.full((2,), 5)),
        )
        > 1e-2
    )


def test_configs_and_sampling_defaults(parts, converted):
    s = converted.sampling
    assert (s.prior.sampler, s.prior.steps, s.prior.guidance) == ("ddpm", 25, 4.0)
    assert (s.decoder.sampler, s.decoder.steps, s.decoder.guidance) == ("ddpm", 25, 8.0)
    assert (s.upsampler_256.sampler, s.upsampler_256.steps) == ("ddpm", 7)
    assert s.prior_candidates == 1
    prior, decoder, up = converted.prior.config, converted.decoder.config, converted.upsampler(256).config
    assert (prior.diffusion.prediction, prior.diffusion.clip_range, prior.diffusion.learned_variance) == (
        "x0",
        5.0,
        False,
    )
    assert (
        decoder.diffusion.prediction,
        decoder.diffusion.learned_variance,
        decoder.diffusion.clip_range,
    ) == ("epsilon", True, 1.0)
    assert decoder.unet.scale_shift and not up.unet.scale_shift
    assert decoder.unet.attention_levels == (False, True, True, True) and decoder.unet.mid_attention
    assert torch.equal(converted.prior.embed_mean, parts["prior"].clip_mean.detach()[0])
    assert torch.equal(converted.prior.embed_std, parts["prior"].clip_std.detach()[0])
