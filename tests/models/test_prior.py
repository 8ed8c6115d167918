import torch
import torch.nn.functional as F

from unclip.models.clip import TextEncoding
from unclip.models.prior import Prior, PriorConfig


def make_prior():
    torch.manual_seed(0)
    return Prior(
        PriorConfig(clip_dim=16, text_width=12, max_text_tokens=6, width=32, layers=3, heads=4)
    ).eval()


def make_text(b=2):
    mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])[:b]
    return TextEncoding(torch.randn(b, 16), torch.randn(b, 6, 12), mask)


def reference_forward(prior: Prior, z, t, text):
    """The whole sequence through every layer at once with an explicit causal + padding mask."""
    seq = torch.cat(
        [
            prior.text_hidden_proj(text.hidden),
            prior.text_embed_proj(text.embeds)[:, None],
            prior.time_embed(t)[:, None],
            prior.image_embed_proj(z)[:, None],
            prior.query.expand(z.shape[0], -1, -1),
        ],
        dim=1,
    )
    h = seq + prior.positions
    n = h.shape[1]
    keys = torch.cat([text.mask, torch.ones(z.shape[0], 4, dtype=torch.bool)], dim=1)
    mask = torch.ones(n, n, dtype=torch.bool).tril()[None, None] & keys[:, None, None]
    for blk in prior.blocks:
        x = blk.norm1(h)
        q, k, v = (blk._heads(a) for a in blk.qkv(x).chunk(3, -1))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(h.shape)
        h = h + blk.attn_out(a)
        h = h + blk.mlp_out(F.gelu(blk.mlp_in(blk.norm2(h))))
    return prior.out(prior.norm_out(h[:, -1]))


def test_prefix_cache_is_exact():
    prior, text = make_prior(), make_text()
    z, t = torch.randn(2, 16), torch.tensor([7, 800])
    with torch.no_grad():
        assert torch.allclose(prior(z, t, text), reference_forward(prior, z, t, text), atol=1e-5)


def test_one_prefix_serves_every_step():
    prior, text = make_prior(), make_text()
    with torch.no_grad():
        prefix = prior.encode_prefix(text)
        for step in (999, 500, 0):
            z, t = torch.randn(2, 16), torch.full((2,), step)
            assert torch.allclose(prior.denoise(z, t, prefix), prior(z, t, text), atol=1e-6)


def test_padding_tokens_are_ignored_and_real_ones_matter():
    prior, text = make_prior(), make_text(1)
    z, t = torch.randn(1, 16), torch.tensor([300])
    with torch.no_grad():
        base = prior(z, t, text)
        padded = TextEncoding(text.embeds, text.hidden.clone(), text.mask)
        padded.hidden[:, 4:] = 100.0
        assert torch.allclose(base, prior(z, t, padded), atol=1e-5)
        real = TextEncoding(text.embeds, text.hidden.clone(), text.mask)
        real.hidden[:, 1] += 1.0
        assert not torch.allclose(base, prior(z, t, real), atol=1e-4)
        other = TextEncoding(text.embeds + 1.0, text.hidden, text.mask)
        assert not torch.allclose(base, prior(z, t, other), atol=1e-4)


def test_normalisation_round_trip():
    prior = make_prior()
    prior.embed_mean.copy_(torch.randn(16))
    prior.embed_std.copy_(torch.rand(16) + 0.5)
    e = torch.randn(3, 16)
    assert torch.allclose(prior.denormalize(prior.normalize(e)), e, atol=1e-6)
