import pytest
import torch

from unclip.cascade import stages
from unclip.cascade.settings import StageSampling
from unclip.errors import InputError
from unclip.pipeline.unclip_pipeline import UnCLIP

FAST = {
    "prior_steps": 2,
    "decoder_steps": 2,
    "upsampler_256_steps": 1,
    "upsampler_1024_steps": 1,
    "prior_candidates": 1,
}


@pytest.fixture(scope="module")
def pipe(tiny_cascade):
    return UnCLIP(tiny_cascade, device="cpu")


def test_same_seed_same_images_other_seed_other_images(pipe):
    a = pipe.generate_tensors(["a red apple", "a blue car"], n=2, size=64, seed=5, **FAST)
    b = pipe.generate_tensors(["a red apple", "a blue car"], n=2, size=64, seed=5, **FAST)
    c = pipe.generate_tensors(["a red apple", "a blue car"], n=2, size=64, seed=6, **FAST)
    assert a.shape == (4, 3, 64, 64)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert a.min() >= -1 and a.max() <= 1


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, "7"])
def test_a_seed_torch_cannot_take_is_an_input_error(pipe, seed):
    with pytest.raises(InputError, match="seed: must be a whole number"):
        pipe.generate("a cat", size=64, seed=seed, **FAST)


def test_prompts_are_batched_in_prompt_major_order(pipe):
    batch = pipe.generate_tensors(["a red apple", "a blue car"], n=1, size=64, seed=1, **FAST)
    assert not torch.allclose(batch[0], batch[1])


def test_sizes_256_512_1024_give_pil_images_of_that_size(pipe):
    for size in (256, 512, 1024):
        images = pipe.generate("a cat", n=1, size=size, seed=0, **FAST)
        assert len(images) == 1 and images[0].size == (size, size) and images[0].mode == "RGB"


def test_every_sampler_runs_in_every_stage(pipe):
    for name in ("ddpm", "ddim", "dpm++2m"):
        out = pipe.generate_tensors(
            "a dog", size=64, seed=0, prior_sampler=name, decoder_sampler=name, **FAST
        )
        assert torch.isfinite(out).all()


def test_guidance_one_equals_the_conditional_output(pipe):
    """The guided (batched uncond+cond) path at g=1 must give the conditional-only result."""
    c = pipe.cascade
    text = pipe.encode_prompts(["a bowl of soup"])
    # Seeded: the conditional pass runs at batch 1 in one path and batch 2 in the other, and oneDNN's
    # kernels round differently per batch size; over 30 random inputs the two differed by up to 5e-3
    # after 3 DDIM steps of the random tiny decoder (2.4e-3 for this seed; guidance 8 moves it by 2.0).
    g = torch.Generator().manual_seed(0)
    embeds = torch.randn(1, c.decoder.config.clip_dim, generator=g)
    x_T = torch.randn(1, 3, 64, 64, generator=g)
    settings_1 = StageSampling("ddim", 3, 1.0)
    settings_b = StageSampling("ddim", 3, 1.0 + 1e-7)  # forces the batched [uncond; cond] path
    a = stages.run_decoder(c.decoder, embeds, text, pipe.empty_text(), settings_1, None, x_T=x_T)
    b = stages.run_decoder(c.decoder, embeds, text, pipe.empty_text(), settings_b, None, x_T=x_T)
    assert (a - b).abs().max() < 1e-2
    strong = stages.run_decoder(
        c.decoder, embeds, text, pipe.empty_text(), StageSampling("ddim", 3, 8.0), None, x_T=x_T
    )
    assert (a - strong).abs().max() > 0.1


def test_prior_candidates_keep_the_embedding_closest_to_the_text(pipe):
    c = pipe.cascade
    text = pipe.encode_prompts(["a red apple"])
    settings = StageSampling("ddim", 2, 1.0)
    g = torch.Generator().manual_seed(0)
    best = stages.run_prior(c.prior, text, pipe.empty_text(), settings, g, candidates=4)
    g = torch.Generator().manual_seed(0)
    all4 = stages.run_prior(c.prior, text.repeat_interleave(4), pipe.empty_text(), settings, g, candidates=1)
    sims = torch.nn.functional.cosine_similarity(all4, text.embeds.expand(4, -1), dim=-1)
    assert torch.allclose(best[0], all4[sims.argmax()], atol=1e-5)


def test_prior_candidates_can_be_ranked_by_another_embedding(pipe):
    """Edits keep the candidate nearest the kept picture's CLIP embedding (`target`), not the text's."""
    c = pipe.cascade
    text = pipe.encode_prompts(["a red apple"])
    settings = StageSampling("ddim", 2, 1.0)
    g = torch.Generator().manual_seed(0)
    all4 = stages.run_prior(c.prior, text.repeat_interleave(4), pipe.empty_text(), settings, g, candidates=1)
    by_text = torch.nn.functional.cosine_similarity(all4, text.embeds.expand(4, -1), dim=-1).argmax()
    target = all4[(by_text + 1) % 4][None] + 0.01 * torch.randn(1, all4.shape[1], generator=g)
    g = torch.Generator().manual_seed(0)
    best = stages.run_prior(c.prior, text, pipe.empty_text(), settings, g, candidates=4, target=target)
    assert torch.allclose(best[0], all4[(by_text + 1) % 4], atol=1e-5)


def test_bad_requests_raise_input_errors(pipe):
    with pytest.raises(InputError, match="size"):
        pipe.generate("x", size=300)
    with pytest.raises(InputError, match="n:"):
        pipe.generate("x", n=0)
    with pytest.raises(InputError, match="prompt"):
        pipe.generate("x" * 1001)
    with pytest.raises(InputError, match="sampler"):
        pipe.generate("x", decoder_sampler="euler")
    with pytest.raises(
        InputError, match="unknown stage setting 'decoder_stepz' .did you mean 'decoder_steps'"
    ) as e:
        pipe.generate("x", decoder_stepz=3)
    assert isinstance(e.value, TypeError)  # what Python raises for an unexpected keyword


@pytest.mark.parametrize(
    ("setting", "value", "match"),
    [
        ("prior_candidates", 0, "prior_candidates"),
        ("prior_candidates", -2, "prior_candidates"),
        ("prior_steps", 0, "prior: steps"),
        ("decoder_steps", -1, "decoder: steps"),
        ("prior_guidance", float("nan"), "prior: guidance"),
        ("decoder_guidance", float("inf"), "decoder: guidance"),
        ("decoder_eta", float("nan"), "decoder: eta"),
        ("upsampler_256_eta", -0.5, "upsampler_256: eta"),
    ],
)
def test_bad_stage_settings_raise_input_errors_naming_the_setting(pipe, setting, value, match):
    with pytest.raises(InputError, match=match):
        pipe.generate("x", **{**FAST, setting: value})


def test_switching_a_ddim_stage_with_eta_to_another_sampler_drops_the_eta(tiny_cascade):
    """A model may store DDIM with eta 1 (the default model's decoder); `decoder_sampler="ddpm"` alone
    must then run, not fail at the decoder for an eta it did not give. An explicit eta for a sampler
    that takes none is an error before any network runs."""
    sampling = tiny_cascade.sampling.with_overrides({"decoder": {"sampler": "ddim", "eta": 1.0}})
    pipe = UnCLIP(type(tiny_cascade)(tiny_cascade.tokenizer, tiny_cascade.modules, sampling), device="cpu")
    out = pipe.generate_tensors("a dog", size=64, seed=0, decoder_sampler="ddpm", **FAST)
    assert torch.isfinite(out).all()
    assert sampling.with_overrides({"decoder": {"sampler": "ddpm"}}).decoder.eta == 0.0
    assert sampling.with_overrides({"decoder": {"steps": 3}}).decoder.eta == 1.0  # same sampler: kept
    calls = []
    handle = pipe.cascade.prior.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        with pytest.raises(InputError, match="eta applies to the 'ddim' sampler only"):
            pipe.generate("a dog", decoder_sampler="ddpm", decoder_eta=0.5, **FAST)
    finally:
        handle.remove()
    assert calls == []  # refused before the prior ran


def test_sampling_config_rejects_non_finite_edit_guidance():
    from unclip.cascade.settings import SamplingConfig
    from unclip.utils.config import ConfigError

    with pytest.raises(ConfigError, match="edit_guidance"):
        SamplingConfig.from_dict({"edit_guidance": float("nan")})
