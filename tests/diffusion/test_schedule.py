import math

import pytest
import torch
from diffusers.schedulers.scheduling_unclip import betas_for_alpha_bar

from unclip.diffusion import NoiseSchedule, make_betas


@pytest.mark.parametrize("num_timesteps", [1000, 250, 64])
def test_cosine_betas_match_diffusers_bit_for_bit(num_timesteps: int) -> None:
    ours = make_betas("cosine", num_timesteps)
    assert ours.dtype == torch.float64
    assert torch.equal(ours.float(), betas_for_alpha_bar(num_timesteps))


def test_cosine_betas_follow_the_closed_form_and_cap() -> None:
    betas = make_betas("cosine", 1000)
    ab = torch.cumprod(1 - betas, 0)
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    for t in [0, 10, 500, 900]:  # alpha_bar_t = f((t + 1) / T) / f(0) until the cap bites
        assert ab[t].item() == pytest.approx(f((t + 1) / 1000) / f(0), rel=1e-9)
    assert betas.max().item() == pytest.approx(0.999)
    assert bool((betas > 0).all())


def test_linear_betas_are_rescaled_to_the_length() -> None:
    b = make_betas("linear", 1000)
    assert b[0].item() == pytest.approx(1e-4) and b[-1].item() == pytest.approx(0.02)
    b4 = make_betas("linear", 4000)
    assert b4[0].item() == pytest.approx(2.5e-5) and b4[-1].item() == pytest.approx(0.005)
    assert bool((b.diff() > 0).all())


def test_make_betas_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind"):
        make_betas("quadratic", 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        make_betas("cosine", 0)
    with pytest.raises(ValueError):
        NoiseSchedule(torch.tensor([0.1, 1.5]))
    with pytest.raises(ValueError):
        NoiseSchedule(torch.zeros(2, 2))


def test_schedule_buffers_are_float64_and_consistent() -> None:
    sched = NoiseSchedule.from_kind("cosine", 1000)
    assert sched.num_timesteps == 1000
    assert sched.alphas_cumprod.dtype == torch.float64
    assert sched.alpha_bar_at(-1) == 1.0
    assert sched.alpha_bar_at(0) == pytest.approx(1 - sched.betas[0].item(), rel=1e-15)
    # posterior variance of q(x_{t-1} | x_t, x_0), with t = 0 clipped to the t = 1 value
    t = 400
    ab, ab_prev, beta = sched.alphas_cumprod[t], sched.alphas_cumprod[t - 1], sched.betas[t]
    assert sched.posterior_variance[t].item() == pytest.approx((beta * (1 - ab_prev) / (1 - ab)).item())
    assert sched.posterior_variance[0].item() == 0.0
    assert sched.posterior_log_variance_clipped[0] == sched.posterior_log_variance_clipped[1]
    with pytest.raises(ValueError):
        sched.alpha_bar_at(1000)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_q_sample_keeps_dtype_and_matches_formula(dtype: torch.dtype) -> None:
    sched = NoiseSchedule.from_kind("linear", 1000)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 2, 4, 4, generator=g).to(dtype)
    noise = torch.randn(3, 2, 4, 4, generator=g).to(dtype)
    t = torch.tensor([0, 500, 999])
    xt = sched.q_sample(x0, t, noise)
    assert xt.dtype == dtype and xt.shape == x0.shape
    ab = sched.alphas_cumprod[t].view(3, 1, 1, 1)
    expected = ab.sqrt() * x0.double() + (1 - ab).sqrt() * noise.double()
    tol = {torch.float32: 1e-5, torch.float64: 1e-12, torch.bfloat16: 5e-2}[dtype]
    torch.testing.assert_close(xt.double(), expected, rtol=tol, atol=tol)
    assert sched.alpha_bar(t, x0).shape == (3, 1, 1, 1)


def test_q_sample_has_the_forward_marginal() -> None:
    sched = NoiseSchedule.from_kind("cosine", 1000)
    g = torch.Generator().manual_seed(1)
    n = 20000
    x0 = torch.full((n, 1), 0.7, dtype=torch.float64)
    t = torch.full((n,), 300)
    xt = sched.q_sample(x0, t, torch.randn(n, 1, generator=g, dtype=torch.float64))
    ab = sched.alpha_bar_at(300)
    assert xt.mean().item() == pytest.approx(math.sqrt(ab) * 0.7, abs=4 * math.sqrt((1 - ab) / n))
    assert xt.var().item() == pytest.approx(1 - ab, rel=4 * math.sqrt(2 / n))


def test_posterior_mean_is_the_posterior_mean() -> None:
    # q(x_{t-1} | x_t, x_0) by Bayes on one dimension: compare with the schedule's coefficients.
    sched = NoiseSchedule.from_kind("linear", 1000)
    t = 123
    ab_prev, beta = sched.alphas_cumprod[t - 1].item(), sched.betas[t].item()
    x0, xt = torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([[-0.4]], dtype=torch.float64)
    # prior x_{t-1} ~ N(sqrt(ab_prev) x0, 1 - ab_prev); likelihood x_t ~ N(sqrt(1 - beta) x_{t-1}, beta)
    prec = 1 / (1 - ab_prev) + (1 - beta) / beta
    mean = (math.sqrt(ab_prev) * 0.3 / (1 - ab_prev) + math.sqrt(1 - beta) * -0.4 / beta) / prec
    got = sched.posterior_mean(x0, xt, torch.tensor([t]))
    assert got.item() == pytest.approx(mean, rel=1e-10)
    assert sched.posterior_variance[t].item() == pytest.approx(1 / prec, rel=1e-10)
