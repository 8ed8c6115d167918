import math

import pytest
import torch

from unclip.diffusion import (
    DDIMSampler,
    DDPMSampler,
    DPMSolverPP2MSampler,
    NoiseSchedule,
    make_sampler,
    q_sample_between,
    sample_loop,
)
from unclip.errors import InputError

from .toy import GaussianData


@pytest.fixture(scope="module")
def sched() -> NoiseSchedule:
    return NoiseSchedule.from_kind("cosine")


def _smooth_model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) * 0.3 + 0.001 * t.view(-1, *([1] * (x.ndim - 1)))


def test_make_sampler_builds_each_kind(sched: NoiseSchedule) -> None:
    kinds = {"ddpm": DDPMSampler, "ddim": DDIMSampler, "dpm++2m": DPMSolverPP2MSampler}
    for name, cls in kinds.items():
        s = make_sampler(name, sched, 20, prediction="v", learned_variance=True, clip_range=None)  # type: ignore[arg-type]
        assert type(s) is cls and len(s.timesteps) == 20 and s.timesteps[0] == 999 and s.timesteps[-1] == 0
        assert s.prediction == "v" and s.learned_variance and s.clip_range is None
    assert make_sampler("ddim", sched, 10, eta=0.5).eta == 0.5  # type: ignore[attr-defined]
    assert make_sampler("ddpm", sched, 10, prediction="sample").prediction == "x0"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "euler"}, "unknown sampler"),
        ({"name": "ddpm", "eta": 0.3}, "eta"),
        ({"name": "ddim", "eta": -1.0}, "eta"),
        ({"name": "ddim", "steps": 0}, "steps"),
        ({"name": "ddim", "steps": 1001}, "steps"),
        ({"name": "ddim", "clip_range": 0.0}, "clip_range"),
    ],
)
def test_make_sampler_rejects_bad_settings(sched: NoiseSchedule, kwargs: dict, match: str) -> None:
    args = {"steps": 10, **kwargs}
    with pytest.raises(InputError, match=match):
        make_sampler(args.pop("name"), sched, args.pop("steps"), **args)


def test_make_sampler_rejects_unknown_prediction(sched: NoiseSchedule) -> None:
    with pytest.raises(ValueError, match="prediction"):
        make_sampler("ddim", sched, 10, prediction="score")  # type: ignore[arg-type]


def test_explicit_timesteps_are_validated(sched: NoiseSchedule) -> None:
    with pytest.raises(ValueError, match="descending"):
        DDIMSampler(sched, [10, 20])
    with pytest.raises(ValueError, match="lie in"):
        DDIMSampler(sched, [1000, 0])
    with pytest.raises(ValueError, match="empty"):
        DDIMSampler(sched, [])


@pytest.mark.parametrize("name", ["ddpm", "ddim", "dpm++2m"])
def test_step_checks_shapes_and_index(sched: NoiseSchedule, name: str) -> None:
    s = make_sampler(name, sched, 5, learned_variance=True)  # type: ignore[arg-type]
    x = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match="2C"):
        s.step(torch.zeros(2, 3, 4, 4), 0, x)
    with pytest.raises(IndexError):
        s.step(torch.zeros(2, 6, 4, 4), 5, x)
    assert s.step(torch.zeros(2, 6, 4, 4), 0, x).shape == x.shape


@pytest.mark.parametrize("name", ["ddpm", "ddim", "dpm++2m"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_samplers_keep_dtype_and_stay_finite(sched: NoiseSchedule, name: str, dtype: torch.dtype) -> None:
    """The toy network answers in float32 whatever x is (as under autocast); samples keep x's dtype."""
    x_T = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)).to(dtype)
    sampler = make_sampler(name, sched, 8, eta=0.5 if name == "ddim" else 0.0)  # type: ignore[arg-type]
    out = sample_loop(_smooth_model, x_T, sampler, torch.Generator().manual_seed(1))
    assert out.dtype == dtype and out.shape == x_T.shape
    assert bool(torch.isfinite(out).all())
    assert float(out.abs().max()) <= 1.0 + 1e-2  # last step returns the clipped x0 (ddim/dpm) or its mean


def test_single_step_sampling_returns_the_x0_prediction(sched: NoiseSchedule) -> None:
    x_T = torch.randn(4, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for name in ["ddpm", "ddim", "dpm++2m"]:
        sampler = make_sampler(name, sched, 1, prediction="x0", clip_range=None)  # type: ignore[arg-type]
        assert sampler.timesteps == [999]
        out = sample_loop(
            lambda x, t: torch.full_like(x, 0.25), x_T, sampler, torch.Generator().manual_seed(0)
        )
        torch.testing.assert_close(out, torch.full_like(x_T, 0.25), rtol=0, atol=1e-9)


def test_clipping_bounds_the_final_sample(sched: NoiseSchedule) -> None:
    x_T = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    big = lambda x, t: 5 * torch.ones_like(x)  # x0 prediction far outside [-1, 1]
    for name in ["ddpm", "ddim", "dpm++2m"]:
        clipped = sample_loop(big, x_T, make_sampler(name, sched, 10, prediction="x0", clip_range=0.5))  # type: ignore[arg-type]
        free = sample_loop(big, x_T, make_sampler(name, sched, 10, prediction="x0", clip_range=None))  # type: ignore[arg-type]
        torch.testing.assert_close(clipped, torch.full_like(x_T, 0.5))
        torch.testing.assert_close(free, torch.full_like(x_T, 5.0))


def test_sample_loop_hooks(sched: NoiseSchedule) -> None:
    sampler = make_sampler("ddim", sched, 6)
    calls: list[tuple[int, int]] = []
    wrapped: list[list[int]] = []

    def model_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        assert t.dtype == torch.long and t.shape == (3,)
        calls.append((int(t[0]), int(x[0, 0])))
        return torch.zeros_like(x)

    def on_step(x: torch.Tensor, i: int) -> torch.Tensor:
        return torch.full_like(x, float(i + 1))  # the hook's value is what the next step sees

    def progress(it):
        wrapped.append(list(it))
        return iter(wrapped[-1])

    out = sample_loop(model_fn, torch.zeros(3, 2), sampler, on_step=on_step, progress=progress)
    assert wrapped == [sampler.timesteps]
    assert [c[0] for c in calls] == sampler.timesteps
    assert [c[1] for c in calls] == [0, 1, 2, 3, 4, 5]
    torch.testing.assert_close(out, torch.full((3, 2), 6.0))


def test_dpm_solver_history_is_reset_and_not_reused_out_of_order(sched: NoiseSchedule) -> None:
    data = GaussianData.random((16,))
    model = data.model(sched, "epsilon")
    x_T = torch.randn(8, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sampler = make_sampler("dpm++2m", sched, 12, clip_range=None, spacing="uniform")
    first = sample_loop(model, x_T, sampler)
    again = sample_loop(model, x_T, sampler)  # a stale history would change the first steps
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    # Repeating step i (RePaint-style) uses first order: equal to a fresh sampler started at i.
    x = x_T
    for i in range(3):
        x = sampler.step(model(x, torch.full((8,), sampler.timesteps[i])), i, x)
    t3 = torch.full((8,), sampler.timesteps[3])
    repeated = sampler.step(model(x, t3), 3, x)
    repeated_again = sampler.step(model(x, t3), 3, x)
    fresh = DPMSolverPP2MSampler(sched, sampler.timesteps[3:], clip_range=None).step(model(x, t3), 0, x)
    assert not torch.allclose(repeated, fresh)  # step 3 after step 2 is second order
    torch.testing.assert_close(repeated_again, fresh, rtol=0, atol=1e-12)


def test_ddpm_uses_the_schedule_beta_on_unit_steps(sched: NoiseSchedule) -> None:
    """With every timestep visited, the respaced beta 1 - ab_t / ab_{t-1} is the schedule's beta_t;
    the full chain has the forward process's posterior coefficients."""
    sampler = DDPMSampler(sched, [500, 499], prediction="x0", clip_range=None)
    x = torch.tensor([[0.3]], dtype=torch.float64)
    x0 = torch.tensor([[-0.2]], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    out = sampler.step(x0, 0, x, g)
    noise = torch.randn((1, 1), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    t = torch.tensor([500])
    expected = sched.posterior_mean(x0, x, t) + math.sqrt(sched.posterior_variance[500].item()) * noise
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_q_sample_between(sched: NoiseSchedule) -> None:
    n = 20000
    x0 = torch.full((n, 1), 0.5, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    mid = q_sample_between(sched, x0, -1, 300, g)
    end = q_sample_between(sched, mid, 300, 700, g)
    ab = sched.alpha_bar_at(700)
    # two hops have the one-hop marginal q(x_700 | x_0)
    assert end.mean().item() == pytest.approx(math.sqrt(ab) * 0.5, abs=4 * math.sqrt((1 - ab) / n))
    assert end.var().item() == pytest.approx(1 - ab, rel=4 * math.sqrt(2 / n))
    assert q_sample_between(sched, mid, 300, 300) is mid
    with pytest.raises(ValueError):
        q_sample_between(sched, x0, 700, 300)
    with pytest.raises(ValueError):
        q_sample_between(sched, x0, -2, 3)
    assert q_sample_between(sched, x0.float(), 0, 10).dtype == torch.float32
