"""Samplers driven by the exact denoiser of Gaussian data must reproduce the data's moments.

Data: 64 independent dimensions, means in [-0.6, 0.6], standard deviations in [0.4, 1.0]. The
network is the closed-form optimum (``toy.GaussianData``), so every deviation is the sampler's own:
its discretisation bias at the given step count, plus sampling noise. With N samples the noise of
one dimension's relative variance is sqrt(2 / N) (2.2 % at N = 4096), of its average over the 64
dimensions sqrt(2 / N) / 8, and of a mean s / sqrt(N). Tolerances are derived from these below.

The variance bands below are the solvers' biases at these step counts (measured once with 50 000
samples), +-3 points: DDPM and DDIM on Karlo's uniform timestep spacing, DPM-Solver++(2M) on its
default log-SNR spacing. All first-order schemes lose variance (DDPM with the posterior variance,
DDIM); DPM-Solver++(2M) overshoots slightly in the final jump to t = 0 (on the uniform spacing, whose
last interval is one large log-SNR jump, the overshoot is +9 % (cosine) and +29 % (linear)).
Its agreement with the reference implementation, and its second-order convergence, are tested
separately (``test_reference_samplers.py`` and ``test_convergence_order`` below).
"""

import itertools

import pytest
import torch

from unclip.diffusion import NoiseSchedule, make_sampler, sample_loop

from .toy import GaussianData, check_moments

N = {"ddpm": 2048, "ddim": 4096, "dpm++2m": 4096}  # DDPM (100 steps, noise each step) is the slow one
STEPS = {"ddpm": 100, "ddim": 50, "dpm++2m": 25}
# average relative variance error (var / s^2 - 1): measured bias +- 0.03 (>= 7 sigma of the noise)
VAR_BAND = {
    ("cosine", "ddpm"): (-0.060 - 0.03, -0.060 + 0.03),
    ("linear", "ddpm"): (-0.105 - 0.03, -0.105 + 0.03),
    ("cosine", "ddim"): (-0.055 - 0.03, -0.055 + 0.03),
    ("linear", "ddim"): (-0.093 - 0.03, -0.093 + 0.03),
    ("cosine", "dpm++2m"): (0.042 - 0.03, 0.042 + 0.03),
    ("linear", "dpm++2m"): (0.018 - 0.03, 0.018 + 0.03),
}
# how much one dimension's variance bias differs from the average, over s in [0.4, 1]
BIAS_SPREAD = {"ddpm": 0.03, "ddim": 0.03, "dpm++2m": 0.05}


def mean_tol(n: int) -> float:
    """In data standard deviations: 5 sigma of the sampling noise, plus the linear schedule's prior
    mismatch (alpha_bar_T = 4e-5, so starting from N(0, 1) misses sqrt(ab_T) mu)."""
    return 5 / n**0.5 + 0.01


def dim_spread(n: int, name: str) -> float:
    """How far one dimension's relative variance error may stray from the average: 5 sigma of the
    sampling noise plus the spread of the bias."""
    return 5 * (2 / n) ** 0.5 + BIAS_SPREAD[name]


def moment_failures(x: torch.Tensor, data: GaussianData, kind: str, name: str) -> list[str]:
    n = x.shape[0]
    return check_moments(x, data, mean_tol(n), VAR_BAND[(kind, name)], dim_spread(n, name))


@pytest.fixture(scope="module")
def data() -> GaussianData:
    return GaussianData.random((64,), mu_range=0.6, s_range=(0.4, 1.0), seed=0)


def _run(data: GaussianData, kind: str, name: str, prediction: str, n: int, seed: int = 0) -> torch.Tensor:
    sched = NoiseSchedule.from_kind(kind)  # type: ignore[arg-type]
    g = torch.Generator().manual_seed(seed)
    x_T = torch.randn(n, 64, generator=g, dtype=torch.float64)
    sampler = make_sampler(name, sched, STEPS[name], prediction=prediction, clip_range=None)  # type: ignore[arg-type]
    return sample_loop(data.model(sched, prediction), x_T, sampler, g)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
@pytest.mark.parametrize("name", ["ddpm", "ddim", "dpm++2m"])
def test_sampler_reproduces_data_moments(data: GaussianData, kind: str, name: str) -> None:
    x = _run(data, kind, name, "epsilon", N[name])
    assert moment_failures(x, data, kind, name) == []


@pytest.mark.parametrize("kind", ["cosine", "linear"])
@pytest.mark.parametrize("name", ["ddpm", "ddim", "dpm++2m"])
@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_prediction_types_give_the_same_samples(
    data: GaussianData, kind: str, name: str, prediction: str
) -> None:
    """The same optimal network expressed as x0 or v must give the samples that epsilon gives (same
    noise), hence the moments checked above."""
    ref = _run(data, kind, name, "epsilon", 256, seed=5)
    got = _run(data, kind, name, prediction, 256, seed=5)
    torch.testing.assert_close(got, ref, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("ddpm", {"s_factor": 0.8}),
        ("ddim", {"s_factor": 1.25}),
        ("dpm++2m", {"s_factor": 0.85}),
        ("ddim", {"s_factor": 0.95}),  # 5 % wrong about the spread is already caught
        ("ddim", {"mu_shift": 0.15}),
    ],
)
def test_negative_control_wrong_denoiser_fails_the_check(data: GaussianData, name: str, wrong: dict) -> None:
    """The same check, with a network that is wrong about the data, must fail."""
    x = _run(data.scaled(**wrong), "cosine", name, "epsilon", N[name])
    assert moment_failures(x, data, "cosine", name) != []


@pytest.mark.parametrize("kind", ["cosine", "linear"])
@pytest.mark.parametrize("steps", [10, 25])
def test_ddpm_with_the_exact_learned_variance_is_exact_at_few_steps(
    data: GaussianData, kind: str, steps: int
) -> None:
    """For Gaussian data the true reverse step t -> t' is Gaussian with variance posterior variance +
    c0^2 Var[x0|x_t]. Handing DDPM that variance through the learned-range channels (v computed per
    dimension) removes its discretisation bias: the moments match at 10 steps."""
    sched = NoiseSchedule.from_kind(kind)  # type: ignore[arg-type]
    sampler = make_sampler("ddpm", sched, steps, learned_variance=True, clip_range=None)
    prev = {t: sampler.prev_timestep(i) for i, t in enumerate(sampler.timesteps)}

    def variance_channels(x: torch.Tensor, t: int) -> torch.Tensor:
        if prev[t] < 0:  # the last step adds no noise
            return -torch.ones_like(x)
        return data.exact_reverse_v(sched, t, prev[t]).expand_as(x)

    g = torch.Generator().manual_seed(0)
    n = 4096
    x_T = torch.randn(n, 64, generator=g, dtype=torch.float64)
    x = sample_loop(data.model(sched, "epsilon", variance_channels), x_T, sampler, g)
    # no bias at all: the average variance error is pure noise (0.28 %), +-1.5 % is 5 sigma
    assert (
        check_moments(x, data, mean_tol(n), (-0.015, 0.015), dim_spread(n, "ddpm") - BIAS_SPREAD["ddpm"])
        == []
    )


def test_learned_variance_at_the_lower_end_is_fixed_small(data: GaussianData) -> None:
    """v = -1 (frac = 0) must be exactly the posterior-variance sampler."""
    sched = NoiseSchedule.from_kind("cosine")
    x_T = torch.randn(64, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fixed = make_sampler("ddpm", sched, 30, clip_range=None)
    learned = make_sampler("ddpm", sched, 30, clip_range=None, learned_variance=True)
    a = sample_loop(data.model(sched, "epsilon"), x_T, fixed, torch.Generator().manual_seed(1))
    model = data.model(sched, "epsilon", lambda x, t: -torch.ones_like(x))
    b = sample_loop(model, x_T, learned, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_ddim_eta_one_is_ddpm(data: GaussianData) -> None:
    """DDIM with eta = 1 is the ancestral sampler with the posterior variance: two different formulas,
    same samples for the same noise (with and without x0 clipping)."""
    sched = NoiseSchedule.from_kind("linear")
    x_T = torch.randn(64, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for clip in [None, 0.5]:
        outs = []
        for sampler in [
            make_sampler("ddim", sched, 40, eta=1.0, clip_range=clip),
            make_sampler("ddpm", sched, 40, clip_range=clip),
        ]:
            outs.append(sample_loop(data.model(sched, "v"), x_T, sampler, torch.Generator().manual_seed(2)))
        torch.testing.assert_close(outs[0], outs[1], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_convergence_order(data: GaussianData, kind: str) -> None:
    """Deterministic samplers against the exact probability-flow map, which for Gaussian data
    standardises each dimension: x0 = mu + s (x_T - sqrt(ab_T) mu) / sqrt(ab_T s^2 + 1 - ab_T).
    Doubling the steps must halve DDIM's error (first order) and quarter DPM-Solver++(2M)'s."""
    sched = NoiseSchedule.from_kind(kind)  # type: ignore[arg-type]
    ab_T = sched.alpha_bar_at(sched.num_timesteps - 1)
    x_T = torch.randn(16, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = data.mu + data.s * (x_T - ab_T**0.5 * data.mu) / (ab_T * data.s**2 + 1 - ab_T) ** 0.5
    for name, lo, hi in [("ddim", 1.8, 2.2), ("dpm++2m", 3.5, 5.0)]:
        errors = []
        for steps in [50, 100, 200]:
            # uniform spacing: evenly halved intervals (log-SNR spacing rounds to integer timesteps)
            sampler = make_sampler(name, sched, steps, clip_range=None, spacing="uniform")  # type: ignore[arg-type]
            x = sample_loop(data.model(sched, "epsilon"), x_T, sampler)
            errors.append(((x - exact) / data.s).abs().max().item())
        ratios = [a / b for a, b in itertools.pairwise(errors)]
        assert all(lo <= r <= hi for r in ratios), (name, errors, ratios)
