import itertools

import pytest
from diffusers import UnCLIPScheduler

from unclip.diffusion import sampling_timesteps
from unclip.errors import InputError


def test_sampling_timesteps_equal_diffusers_unclip_for_every_step_count() -> None:
    ref = UnCLIPScheduler(num_train_timesteps=1000)
    for steps in range(2, 1001):
        ref.set_timesteps(steps)
        assert sampling_timesteps(1000, steps) == ref.timesteps.tolist(), steps


@pytest.mark.parametrize("num_train", [64, 250, 4000])
def test_sampling_timesteps_equal_diffusers_for_other_lengths(num_train: int) -> None:
    ref = UnCLIPScheduler(num_train_timesteps=num_train)
    for steps in [2, 3, 7, 25, 64]:
        ref.set_timesteps(steps)
        assert sampling_timesteps(num_train, steps) == ref.timesteps.tolist()


def test_sampling_timesteps_shape() -> None:
    ts = sampling_timesteps(1000, 25)
    assert ts[0] == 999 and ts[-1] == 0 and len(ts) == 25
    assert all(a > b for a, b in itertools.pairwise(ts))
    assert sampling_timesteps(1000, 1000) == list(range(999, -1, -1))
    assert sampling_timesteps(1000, 1) == [999]


@pytest.mark.parametrize("steps", [0, -3, 1001])
def test_sampling_timesteps_rejects_bad_step_counts(steps: int) -> None:
    with pytest.raises(InputError, match="steps"):
        sampling_timesteps(1000, steps)


def test_logsnr_spacing_is_descending_distinct_and_default_for_dpm_solver() -> None:
    from unclip.diffusion import NoiseSchedule, make_sampler
    from unclip.diffusion.timesteps import logsnr_timesteps

    for kind in ("cosine", "linear"):
        sched = NoiseSchedule.from_kind(kind)  # type: ignore[arg-type]
        for steps in (2, 5, 10, 25, 100):
            ts = logsnr_timesteps(sched.alphas_cumprod.tolist(), steps)
            assert len(ts) == steps and ts[0] == 999 and ts[-1] == 0
            assert all(a > b for a, b in itertools.pairwise(ts))
        assert make_sampler("dpm++2m", sched, 10).timesteps == logsnr_timesteps(
            sched.alphas_cumprod.tolist(), 10
        )
        assert make_sampler("ddim", sched, 10).timesteps == sampling_timesteps(1000, 10)


def test_logsnr_spacing_does_not_waste_steps_in_the_cosine_tail() -> None:
    """The cosine schedule's clipped last betas drop lambda from -4.3 (t=990) to -9.9 (t=999): at most
    the first step may lie above t=990, the rest must spread over the range where the image forms."""
    from unclip.diffusion import NoiseSchedule
    from unclip.diffusion.timesteps import logsnr_timesteps

    ts = logsnr_timesteps(NoiseSchedule.from_kind("cosine").alphas_cumprod.tolist(), 12)
    assert ts[0] == 999 and sum(t > 990 for t in ts) <= 2, ts
    assert sum(100 <= t <= 900 for t in ts) >= 4, ts


def test_a_later_start_timestep_spreads_the_steps_below_it() -> None:
    from unclip.diffusion import NoiseSchedule, make_sampler

    assert sampling_timesteps(1000, 3, start=250) == [250, 125, 0]
    assert sampling_timesteps(1000, 1, start=400) == [400]
    with pytest.raises(InputError, match="do not fit"):
        sampling_timesteps(1000, 10, start=5)
    sched = NoiseSchedule.from_kind("cosine")
    assert make_sampler("ddpm", sched, 4, start_timestep=300).timesteps == [300, 200, 100, 0]
    ts = make_sampler("dpm++2m", sched, 5, start_timestep=300).timesteps
    assert ts[0] == 300 and ts[-1] == 0 and len(ts) == 5
