import math

import pytest
import torch

from unclip.diffusion import GaussianDiffusion, NoiseSchedule
from unclip.diffusion.likelihood import discretized_gaussian_log_likelihood

from .toy import GaussianData

SHAPE = (4, 4, 4)  # one sample: C=4 channels of 4x4, 64 dimensions


@pytest.fixture(scope="module")
def data() -> GaussianData:
    return GaussianData.random(SHAPE, s_range=(0.3, 1.0))


def _fixed_t(t: int, n: int) -> torch.Tensor:
    return torch.full((n,), t, dtype=torch.long)


@pytest.mark.parametrize("prediction", ["epsilon", "x0", "v"])
def test_mse_of_the_exact_denoiser_is_the_posterior_variance(data: GaussianData, prediction: str) -> None:
    """The loss of the Bayes-optimal network is the conditional variance of its target, known in
    closed form; a network that is wrong about the data scores worse on the same draws."""
    sched = NoiseSchedule.from_kind("cosine")
    diff = GaussianDiffusion(sched, prediction=prediction)  # type: ignore[arg-type]
    n = 4000
    g = torch.Generator().manual_seed(0)
    for t in [20, 400, 900]:
        x0 = data.sample(n, g)
        noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        tt = _fixed_t(t, n)
        exact = diff.training_losses(data.model(sched, prediction), x0, tt, noise)
        wrong = diff.training_losses(data.scaled(1.3, 0.1).model(sched, prediction), x0, tt, noise)
        assert set(exact) == {"loss", "mse"} and exact["loss"].shape == (n,)
        ab = sched.alpha_bar_at(t)
        var_x0 = data.x0_var(ab)
        expected = {"epsilon": var_x0 * ab / (1 - ab), "x0": var_x0, "v": var_x0 / (1 - ab)}[
            prediction
        ].mean()
        assert exact["mse"].mean().item() == pytest.approx(expected.item(), rel=0.03)
        assert exact["loss"].mean() < wrong["loss"].mean()


def test_v_and_eps_targets_are_what_the_exact_network_recovers_without_noise() -> None:
    # x0 deterministic (s -> 0 is not representable; use a point mass by predicting x0 directly)
    sched = NoiseSchedule.from_kind("linear")
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(8, 3, generator=g, dtype=torch.float64)
    noise = torch.randn(8, 3, generator=g, dtype=torch.float64)
    t = torch.randint(0, 1000, (8,), generator=g)
    for prediction in ["epsilon", "x0", "v"]:
        diff = GaussianDiffusion(sched, prediction=prediction)  # type: ignore[arg-type]
        target = diff.target(x0, noise, t)
        x_t = sched.q_sample(x0, t, noise)
        torch.testing.assert_close(diff.predict_x0(target, x_t, t), x0)
        torch.testing.assert_close(diff.predict_eps(target, x_t, t), noise)
        losses = diff.training_losses(lambda x, tt, target=target: target, x0, t, noise)
        assert losses["loss"].abs().max().item() < 1e-20


def _learned_model(data: GaussianData, sched: NoiseSchedule, v: torch.Tensor | float):
    base = data.model(sched, "epsilon")

    def fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        vv = v if isinstance(v, torch.Tensor) else torch.full_like(x, v)
        return torch.cat([base(x, t), vv.expand_as(x)], dim=1)

    return fn


def test_learned_variance_losses_shapes_and_sum(data: GaussianData) -> None:
    sched = NoiseSchedule.from_kind("cosine")
    diff = GaussianDiffusion(sched, learned_variance=True)
    g = torch.Generator().manual_seed(1)
    x0 = data.sample(64, g).clamp(-1, 1)
    t = diff.sample_timesteps(64, generator=g)
    t[:4] = 0  # make sure the decoder term is exercised
    losses = diff.training_losses(_learned_model(data, sched, 0.0), x0, t)
    assert set(losses) == {"loss", "mse", "vb"}
    for v in losses.values():
        assert v.shape == (64,) and bool(torch.isfinite(v).all())
    assert bool((losses["vb"] > 0).all())
    torch.testing.assert_close(losses["loss"], losses["mse"] + losses["vb"])
    # vb is vb_weight * T * (bits per dimension): the weight scales it linearly.
    heavy = GaussianDiffusion(sched, learned_variance=True, vb_weight=0.01)
    noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    a = diff.training_losses(_learned_model(data, sched, 0.0), x0, t, noise)["vb"]
    b = heavy.training_losses(_learned_model(data, sched, 0.0), x0, t, noise)["vb"]
    torch.testing.assert_close(b, 10 * a)


def test_vb_trains_only_the_variance_and_mse_only_the_mean() -> None:
    sched = NoiseSchedule.from_kind("cosine")
    diff = GaussianDiffusion(sched, learned_variance=True)
    g = torch.Generator().manual_seed(2)
    x0 = torch.rand(6, 3, 4, 4, generator=g) * 2 - 1
    t = torch.tensor([0, 1, 10, 200, 600, 999])
    mean_part = torch.randn(6, 3, 4, 4, generator=g, requires_grad=True)
    var_part = (torch.rand(6, 3, 4, 4, generator=g) * 2 - 1).requires_grad_(True)
    losses = diff.training_losses(lambda x, tt: torch.cat([mean_part, var_part], 1), x0, t)
    (g_mean_vb, g_var_vb) = torch.autograd.grad(losses["vb"].sum(), [mean_part, var_part], allow_unused=True)
    assert g_mean_vb is None or float(g_mean_vb.abs().max()) == 0.0
    assert float(g_var_vb.abs().max()) > 0
    (g_mean_mse, g_var_mse) = torch.autograd.grad(
        losses["mse"].sum(), [mean_part, var_part], allow_unused=True
    )
    assert float(g_mean_mse.abs().max()) > 0
    assert g_var_mse is None or float(g_var_mse.abs().max()) == 0.0


def test_vb_is_smallest_at_the_true_reverse_variance(data: GaussianData) -> None:
    """For Gaussian data the best p(x_{t-1}|x_t) variance is posterior variance + c0^2 Var[x0|x_t];
    the expected KL must prefer it to either end of the learned range."""
    sched = NoiseSchedule.from_kind("cosine")
    diff = GaussianDiffusion(sched, learned_variance=True)
    n, t = 3000, 150
    g = torch.Generator().manual_seed(3)
    x0 = data.sample(n, g)
    noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    tt = _fixed_t(t, n)
    v_star = data.exact_reverse_v(sched, t, t - 1)
    assert float(v_star.min()) > -1 and float(v_star.max()) < 1
    vb = {
        name: diff.training_losses(_learned_model(data, sched, v), x0, tt, noise)["vb"].mean().item()
        for name, v in [("star", v_star), ("low", -1.0), ("high", 1.0), ("mid", 0.0)]
    }
    assert vb["star"] < min(vb["low"], vb["high"], vb["mid"])


def test_vb_matches_torch_distributions() -> None:
    """Recompute L_t independently: Gaussian KL via torch.distributions for t > 0, the bin mass of
    N(mean, var) over x0's 8-bit bin for t = 0."""
    sched = NoiseSchedule.from_kind("linear")
    diff = GaussianDiffusion(
        sched, learned_variance=True, vb_weight=1 / sched.num_timesteps
    )  # vb in bits/dim
    g = torch.Generator().manual_seed(4)
    x0 = torch.randint(0, 256, (4, 2, 3, 3), generator=g).double() / 127.5 - 1
    noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 1, 77, 640])
    mean_part = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    var_part = torch.rand(x0.shape, generator=g, dtype=torch.float64) * 2 - 1
    vb = diff.training_losses(lambda x, tt: torch.cat([mean_part, var_part], 1), x0, t, noise)["vb"]

    x_t = sched.q_sample(x0, t, noise)
    for i in range(4):
        ti = int(t[i])
        ab = sched.alpha_bar_at(ti)
        ab_prev = sched.alpha_bar_at(ti - 1)
        beta = sched.betas[ti].item()
        x0_pred = (x_t[i] - math.sqrt(1 - ab) * mean_part[i]) / math.sqrt(ab)
        c0, ct = math.sqrt(ab_prev) * beta / (1 - ab), math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab)
        model_mean = c0 * x0_pred + ct * x_t[i]
        post_var = sched.posterior_variance[max(ti, 1)].item()
        frac = (var_part[i] + 1) / 2
        model_var = torch.exp(frac * math.log(beta) + (1 - frac) * math.log(post_var))
        p = torch.distributions.Normal(model_mean, model_var.sqrt())
        if ti == 0:
            upper = torch.where(x0[i] > 0.999, torch.ones_like(x0[i]), p.cdf(x0[i] + 1 / 255))
            lower = torch.where(x0[i] < -0.999, torch.zeros_like(x0[i]), p.cdf(x0[i] - 1 / 255))
            expected = -torch.log(upper - lower).mean() / math.log(2)
        else:
            q = torch.distributions.Normal(c0 * x0[i] + ct * x_t[i], math.sqrt(post_var))
            expected = torch.distributions.kl_divergence(q, p).mean() / math.log(2)
        assert vb[i].item() == pytest.approx(expected.item(), rel=1e-6)


def test_discretized_likelihood_is_a_distribution_over_256_levels() -> None:
    levels = torch.arange(256, dtype=torch.float64) / 127.5 - 1
    for mean, log_scale in [(0.0, -1.0), (0.7, -4.0), (-0.999, -6.0), (0.2, 1.0)]:
        logp = discretized_gaussian_log_likelihood(
            levels, torch.full_like(levels, mean), torch.full_like(levels, log_scale)
        )
        assert torch.logsumexp(logp, 0).exp().item() == pytest.approx(1.0, abs=1e-9)


def test_training_losses_validate_inputs() -> None:
    diff = GaussianDiffusion(NoiseSchedule.from_kind("cosine", 100), learned_variance=True)
    x0 = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match="2C"):
        diff.training_losses(lambda x, t: x, x0, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="timesteps"):
        diff.training_losses(lambda x, t: torch.cat([x, x], 1), x0, torch.tensor([1, 100]))
    with pytest.raises(ValueError, match="shape"):
        diff.training_losses(lambda x, t: torch.cat([x, x], 1), x0, torch.tensor([1]))
    with pytest.raises(ValueError, match="prediction"):
        GaussianDiffusion(NoiseSchedule.from_kind("cosine", 100), prediction="score")  # type: ignore[arg-type]
    t = diff.sample_timesteps(1000, generator=torch.Generator().manual_seed(0))
    assert t.dtype == torch.long and int(t.min()) == 0 and int(t.max()) == 99


def test_min_snr_weighting_caps_the_x0_space_weight() -> None:
    from unclip.diffusion import GaussianDiffusion, NoiseSchedule

    sched = NoiseSchedule.from_kind("cosine")
    t = torch.tensor([0, 200, 600, 999])
    ab = sched.alphas_cumprod[t]
    snr = ab / (1 - ab)
    for prediction, to_x0 in (("epsilon", 1 / snr), ("x0", torch.ones_like(snr)), ("v", 1 / (snr + 1))):
        plain = GaussianDiffusion(sched, prediction=prediction)  # type: ignore[arg-type]
        weighted = GaussianDiffusion(sched, prediction=prediction, min_snr_gamma=5.0)  # type: ignore[arg-type]
        w = weighted.min_snr_weight(t).double()
        # in x0 terms the weight is min(SNR, 5): capped at 5 for clean timesteps, SNR for noisy ones
        torch.testing.assert_close(w / to_x0, snr.clamp(max=5.0), rtol=1e-6, atol=1e-9)
        x0 = torch.randn(4, 3, 4, 4, generator=torch.Generator().manual_seed(0))
        noise = torch.randn_like(x0)

        def model(x, tt):  # a fixed wrong prediction: the loss is the weighted squared error
            return torch.zeros_like(x)

        a = plain.training_losses(model, x0, t, noise)["mse"]
        b = weighted.training_losses(model, x0, t, noise)["mse"]
        torch.testing.assert_close(b, a * w.float(), rtol=1e-5, atol=1e-7)


def test_v_weighting_gives_every_prediction_type_v_predictions_x0_weight_up_to_the_cap() -> None:
    import pytest

    from unclip.diffusion import GaussianDiffusion, NoiseSchedule

    sched = NoiseSchedule.from_kind("cosine")
    t = torch.tensor([0, 200, 600, 800, 999])
    ab = sched.alphas_cumprod[t].double()
    snr = ab / (1 - ab)
    for prediction, to_x0 in (("epsilon", snr), ("x0", torch.ones_like(snr)), ("v", snr + 1)):
        plain = GaussianDiffusion(sched, prediction=prediction)  # type: ignore[arg-type]
        weighted = GaussianDiffusion(sched, prediction=prediction, v_weight_cap=20.0)  # type: ignore[arg-type]
        w = weighted.v_weight(t).double()
        # in x0 terms the weighted loss is (SNR + 1) x0-MSE, as v-prediction's, until the cap
        torch.testing.assert_close(w, ((snr + 1) / to_x0).clamp(max=20.0), rtol=1e-5, atol=1e-9)
        x0 = torch.randn(5, 3, 4, 4, generator=torch.Generator().manual_seed(0))
        noise = torch.randn_like(x0)
        a = plain.training_losses(lambda x, tt: torch.zeros_like(x), x0, t, noise)["mse"]
        b = weighted.training_losses(lambda x, tt: torch.zeros_like(x), x0, t, noise)["mse"]
        torch.testing.assert_close(b, a * w.float(), rtol=1e-5, atol=1e-7)
    eps = GaussianDiffusion(sched, v_weight_cap=20.0).v_weight(t)
    assert (
        eps[0] == pytest.approx(1.0, abs=1e-3) and eps[-1] == 20.0
    )  # clean: plain epsilon; pure noise: the cap
    with pytest.raises(ValueError, match="at most one"):
        GaussianDiffusion(sched, min_snr_gamma=5.0, v_weight_cap=20.0)
    with pytest.raises(ValueError, match="v_weight_cap must be non-negative"):
        GaussianDiffusion(sched, v_weight_cap=-1.0)
