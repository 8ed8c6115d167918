import pytest
import torch

from unclip.cascade.presets import randomize_zero_layers
from unclip.models.clip import TextEncoding
from unclip.models.decoder import Decoder, DecoderConfig
from unclip.models.unet import UNetConfig


def make_decoder(inpainting=False):
    torch.manual_seed(0)
    unet = UNetConfig(
        in_channels=7 if inpainting else 3,
        out_channels=6,
        channels=(16, 32),
        blocks_per_level=1,
        attention_levels=(False, True),
        mid_attention=True,
        head_channels=16,
        context_dim=24,
        groups=8,
    )
    dec = Decoder(
        DecoderConfig(clip_dim=16, text_width=12, image_size=16, inpainting=inpainting, unet=unet)
    ).eval()
    randomize_zero_layers(dec)
    return dec


def text(b=1):
    return TextEncoding(torch.randn(b, 16), torch.randn(b, 5, 12), torch.ones(b, 5, dtype=torch.bool))


def test_image_embedding_changes_output():
    dec, txt = make_decoder(), text()
    x, t = torch.randn(1, 3, 16, 16), torch.tensor([500])
    with torch.no_grad():
        a = dec(x, t, torch.randn(1, 16), txt)
        b = dec(x, t, torch.randn(1, 16), txt)
    assert a.shape == (1, 6, 16, 16)
    assert not torch.allclose(a, b, atol=1e-4)


def test_image_embedding_reaches_time_embedding_and_context_tokens():
    dec, txt = make_decoder(), text()
    e = torch.randn(1, 16)
    extra, tokens, mask = dec.context_tokens(e, txt)
    assert tokens.shape == (1, 4 + 5, 24) and mask.shape == (1, 9) and mask.all()
    extra2, tokens2, _ = dec.context_tokens(e + 1, txt)
    assert not torch.allclose(extra, extra2)  # projected into the timestep embedding
    assert not torch.allclose(tokens[:, :4], tokens2[:, :4])  # and into the 4 extra tokens
    assert torch.allclose(tokens[:, 4:], tokens2[:, 4:])  # caption tokens unchanged


def test_condition_then_denoise_equals_forward():
    dec, txt = make_decoder(), text(2)
    x, t, e = torch.randn(2, 3, 16, 16), torch.tensor([1, 700]), torch.randn(2, 16)
    with torch.no_grad():
        assert torch.allclose(dec(x, t, e, txt), dec.denoise(x, t, dec.condition(e, txt)), atol=1e-6)


def test_inpainting_decoder_needs_and_uses_the_mask_channels():
    dec, txt = make_decoder(inpainting=True), text()
    x, t, e = torch.randn(1, 3, 16, 16), torch.tensor([200]), torch.randn(1, 16)
    with pytest.raises(ValueError, match="inpainting"):
        dec(x, t, e, txt)
    known = torch.cat([torch.randn(1, 3, 16, 16), torch.ones(1, 1, 16, 16)], dim=1)
    with torch.no_grad():
        a = dec(x, t, e, txt, inpaint=known)
        b = dec(x, t, e, txt, inpaint=torch.zeros_like(known))
    assert not torch.allclose(a, b, atol=1e-4)


def test_config_consistency_is_checked():
    with pytest.raises(ValueError, match="in_channels"):
        DecoderConfig(inpainting=True)
