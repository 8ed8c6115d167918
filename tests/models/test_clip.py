import torch
from PIL import Image

from unclip.cascade.presets import preset_configs
from unclip.models.clip import ClipModel
from unclip.models.tokenizer import tokenize
from unclip.utils.images import pil_to_tensor, tensor_to_pil


def make_clip(tok):
    torch.manual_seed(0)
    return ClipModel(preset_configs("tiny", tok)["clip"]).eval()


def test_text_encoding_shapes_and_padding_independence(tiny_tokenizer):
    clip = make_clip(tiny_tokenizer)
    tokens = tokenize(tiny_tokenizer, ["a red apple", "a cat sitting on a mat"], 16)
    with torch.no_grad():
        enc = clip.encode_text(tokens.ids, tokens.mask)
        assert enc.embeds.shape == (2, 32) and enc.hidden.shape == (2, 16, 32)
        # A different padding token after EOS changes nothing for the real tokens (causal attention).
        ids = tokens.ids.clone()
        ids[0, 6:] = 3
        enc2 = clip.encode_text(ids, tokens.mask)
    assert torch.allclose(enc.embeds[0], enc2.embeds[0], atol=1e-5)
    assert torch.allclose(enc.hidden[0, :5], enc2.hidden[0, :5], atol=1e-5)
    assert not torch.allclose(enc.embeds[0], enc.embeds[1])


def test_image_preprocess_resizes_crops_and_normalises(tiny_tokenizer):
    clip = make_clip(tiny_tokenizer)
    img = torch.rand(1, 3, 48, 80) * 2 - 1
    out = clip.preprocess(img)
    assert out.shape == (1, 3, 32, 32)
    white = clip.preprocess(torch.ones(1, 3, 40, 40))
    expected = (1 - clip.mean) / clip.std
    assert torch.allclose(white, expected.expand_as(white), atol=1e-4)
    with torch.no_grad():
        assert clip.encode_image(out).shape == (1, 32)


def test_pil_round_trip_and_alpha_on_white():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    t = pil_to_tensor(rgba)
    assert torch.allclose(t, torch.ones_like(t))  # fully transparent -> white, not black
    img = Image.new("RGB", (8, 8), (10, 200, 30))
    assert tensor_to_pil(pil_to_tensor(img)[None])[0].tobytes() == img.tobytes()
