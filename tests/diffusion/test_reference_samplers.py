"""Step-by-step agreement with the diffusers schedulers Karlo's pipeline uses (reference only)."""

import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, UnCLIPScheduler

from unclip.diffusion import NoiseSchedule, make_betas, make_sampler, output_from_x0_eps, sample_loop
from unclip.diffusion.parameterization import eps_from_x0

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # numpy 2 notice inside diffusers

SHAPE = (3, 4, 8, 8)


def _toy_output(x: torch.Tensor, t: int, prediction: str, learned: bool) -> torch.Tensor:
    """Some smooth, t-dependent network output; variance channels in (-1, 1)."""
    out = torch.tanh(0.7 * x + 0.001 * t) if prediction == "x0" else torch.sin(x + 0.01 * t)
    if learned:
        out = torch.cat([out, torch.tanh(x - 0.3)], dim=1)
    return out


def _unclip_reference(
    variance_type: str, prediction: str, clip: bool, float64_buffers: bool
) -> UnCLIPScheduler:
    ref = UnCLIPScheduler(
        variance_type=variance_type,
        prediction_type="sample" if prediction == "x0" else prediction,
        clip_sample=clip,
    )
    if float64_buffers:
        # Same formulas, fed the float64 schedule we keep (diffusers keeps float32): isolates the
        # step logic from buffer precision.
        betas = make_betas("cosine", 1000)
        ref.betas, ref.alphas, ref.alphas_cumprod = betas, 1 - betas, torch.cumprod(1 - betas, 0)
    return ref


@pytest.mark.parametrize("variance_type", ["fixed_small_log", "learned_range"])
@pytest.mark.parametrize("prediction", ["epsilon", "x0"])
@pytest.mark.parametrize("clip", [True, False])
def test_ddpm_equals_unclip_scheduler_step_by_step(variance_type: str, prediction: str, clip: bool) -> None:
    steps = 25
    learned = variance_type == "learned_range"
    ref = _unclip_reference(variance_type, prediction, clip, float64_buffers=True)
    ref.set_timesteps(steps)
    ours = make_sampler(
        "ddpm",
        NoiseSchedule.from_kind("cosine"),
        steps,
        prediction=prediction,  # type: ignore[arg-type]
        learned_variance=learned,
        clip_range=1.0 if clip else None,
    )
    assert ours.timesteps == ref.timesteps.tolist()
    g_ours, g_ref = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    x_ours = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1))
    x_ref = x_ours.clone()
    for i, t in enumerate(ours.timesteps):
        prev = ours.timesteps[i + 1] if i + 1 < steps else None
        x_ours = ours.step(_toy_output(x_ours, t, prediction, learned), i, x_ours, g_ours)
        x_ref = ref.step(
            _toy_output(x_ref, t, prediction, learned), t, x_ref, prev_timestep=prev, generator=g_ref
        ).prev_sample
        assert x_ours.dtype == torch.float32
        torch.testing.assert_close(x_ours, x_ref, rtol=1e-6, atol=1e-6)
    # the generators were advanced identically (same draws, same order)
    assert torch.equal(g_ours.get_state(), g_ref.get_state())


def test_ddpm_close_to_stock_unclip_scheduler() -> None:
    """Against diffusers' own float32 buffers: equal to float32 rounding of the coefficients, except
    that diffusers' 1 - alpha_bar_0 (4e-5) in float32 keeps only ~3 digits, so its final
    x0 coefficient, 1 in exact arithmetic, is off by ~1e-3."""
    ref = _unclip_reference("learned_range", "epsilon", clip=True, float64_buffers=False)
    ref.set_timesteps(25)
    ours = make_sampler("ddpm", NoiseSchedule.from_kind("cosine"), 25, learned_variance=True)
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1))
    for i, t in enumerate(ours.timesteps):
        prev = ours.timesteps[i + 1] if i + 1 < 25 else None
        out = _toy_output(x, t, "epsilon", True)
        a = ours.step(out, i, x, torch.Generator().manual_seed(i))
        b = ref.step(out, t, x, prev_timestep=prev, generator=torch.Generator().manual_seed(i)).prev_sample
        tol = 2e-3 if t == 0 else 1e-4
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
        x = b


@pytest.mark.parametrize(
    ("prediction", "diffusers_name"), [("epsilon", "epsilon"), ("x0", "sample"), ("v", "v_prediction")]
)
def test_dpm_solver_pp_2m_equals_diffusers(prediction: str, diffusers_name: str) -> None:
    """Same timesteps, same history handling: first step first order, final step to clean data
    first order (diffusers: final_sigmas_type="zero")."""
    sched = NoiseSchedule.from_kind("cosine")
    ours = make_sampler("dpm++2m", sched, 20, prediction=prediction, clip_range=None)  # type: ignore[arg-type]
    ref = DPMSolverMultistepScheduler(
        beta_schedule="squaredcos_cap_v2",
        algorithm_type="dpmsolver++",
        solver_order=2,
        prediction_type=diffusers_name,
        final_sigmas_type="zero",
    )
    ref.set_timesteps(timesteps=ours.timesteps)
    assert ref.timesteps.tolist() == ours.timesteps

    def model(x: torch.Tensor, t: int) -> torch.Tensor:
        # the output of a network that believes x0 = tanh(x); expressed in the prediction type, so
        # that epsilon is not amplified by 1 / sqrt(alpha_bar) ~ 2e4 at t = 999
        ab = sched.alpha_bar_at(t)
        x0 = torch.tanh(x)
        return output_from_x0_eps(x0, eps_from_x0(x0, x, ab), ab, prediction)  # type: ignore[arg-type]

    # diffusers keeps alpha, sigma and lambda in float32. With epsilon prediction at t = 999 the
    # network's eps is turned back into x0 = (x - sigma eps) / alpha with alpha = 5e-5, which
    # magnifies float32 rounding ~2e4-fold; the other predictions do not divide by alpha.
    tol = 1e-3 if prediction == "epsilon" else 1e-4
    x_ours = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1))
    x_ref = x_ours.clone()
    for i, t in enumerate(ours.timesteps):
        x_ours = ours.step(model(x_ours, t), i, x_ours)
        x_ref = ref.step(model(x_ref, t), t, x_ref).prev_sample
        torch.testing.assert_close(x_ours, x_ref, rtol=tol, atol=tol)


def test_sample_loop_matches_a_diffusers_style_loop() -> None:
    """sample_loop passes the original timestep as a long [B] tensor and threads the generator."""
    sched = NoiseSchedule.from_kind("cosine")
    ref = _unclip_reference("fixed_small_log", "x0", clip=True, float64_buffers=True)
    ref.set_timesteps(12)
    seen = []

    def model_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        assert t.dtype == torch.long and t.shape == (x.shape[0],)
        seen.append(int(t[0]))
        return _toy_output(x, int(t[0]), "x0", False)

    x_T = torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))
    ours = sample_loop(
        model_fn, x_T, make_sampler("ddpm", sched, 12, prediction="x0"), torch.Generator().manual_seed(4)
    )
    x, g = x_T.clone(), torch.Generator().manual_seed(4)
    ts = ref.timesteps.tolist()
    for i, t in enumerate(ts):
        prev = ts[i + 1] if i + 1 < len(ts) else None
        x = ref.step(_toy_output(x, t, "x0", False), t, x, prev_timestep=prev, generator=g).prev_sample
    assert seen == ts
    torch.testing.assert_close(ours, x, rtol=1e-6, atol=1e-6)
