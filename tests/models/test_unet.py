import pytest
import torch

from unclip.cascade.presets import randomize_zero_layers
from unclip.models.unet import UNet, UNetConfig


def make_unet(**kw):
    cfg = UNetConfig(
        **{
            "in_channels": 3,
            "out_channels": 6,
            "channels": (16, 32),
            "blocks_per_level": 1,
            "attention_levels": (False, True),
            "mid_attention": True,
            "head_channels": 16,
            "context_dim": 8,
            "groups": 8,
            **kw,
        }
    )
    torch.manual_seed(0)
    net = UNet(cfg).eval()
    randomize_zero_layers(net)
    return net


def test_output_shape_and_zero_init():
    cfg = UNetConfig(in_channels=6, out_channels=3, channels=(8, 16, 16), blocks_per_level=2, groups=4)
    net = UNet(cfg)
    out = net(torch.randn(2, 6, 32, 32), torch.tensor([0, 999]))
    assert out.shape == (2, 3, 32, 32)
    assert torch.count_nonzero(out) == 0  # GLIDE zero-init: an untrained net predicts zero


def test_fully_convolutional_any_size():
    net = make_unet(context_dim=None, attention_levels=(False, False), mid_attention=False)
    for size in (16, 24, 48):
        assert net(torch.randn(1, 3, size, size), torch.tensor([5])).shape == (1, 6, size, size)


def test_timestep_and_extra_embedding_change_output():
    net = make_unet()
    x, ctx = torch.randn(1, 3, 16, 16), torch.randn(1, 5, 8)
    a = net(x, torch.tensor([10]), context=ctx)
    b = net(x, torch.tensor([900]), context=ctx)
    c = net(x, torch.tensor([10]), extra_emb=torch.randn(1, 64), context=ctx)
    assert not torch.allclose(a, b, atol=1e-5)
    assert not torch.allclose(a, c, atol=1e-5)


def test_context_matters_and_masked_tokens_do_not():
    net = make_unet()
    x, t = torch.randn(1, 3, 16, 16), torch.tensor([100])
    ctx = torch.randn(1, 5, 8)
    mask = torch.tensor([[True, True, True, False, False]])
    base = net(x, t, context=ctx, context_mask=mask)
    changed_masked = ctx.clone()
    changed_masked[:, 3:] = torch.randn(1, 2, 8) * 10
    changed_kept = ctx.clone()
    changed_kept[:, 0] += 1.0
    assert torch.allclose(base, net(x, t, context=changed_masked, context_mask=mask), atol=1e-5)
    assert not torch.allclose(base, net(x, t, context=changed_kept, context_mask=mask), atol=1e-4)


def test_precomputed_context_equals_raw_context():
    net = make_unet()
    x, t, ctx = torch.randn(2, 3, 16, 16), torch.tensor([3, 400]), torch.randn(2, 4, 8)
    assert torch.allclose(net(x, t, context=ctx), net(x, t, context=net.context_kv(ctx)), atol=1e-6)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="attention_levels"):
        UNetConfig(channels=(32, 64), attention_levels=(True,))
    with pytest.raises(ValueError, match="groups"):
        UNetConfig(channels=(30, 60), attention_levels=(False, False))
