"""unclip's own CLIP towers and tokenizer give exactly what transformers' CLIP classes give (so weights
move between them unchanged), without transformers being imported to generate
(tests/cli/test_startup_imports.py checks that)."""

from __future__ import annotations

import json
import random

import pytest
import torch
from transformers import CLIPModel, CLIPTextModelWithProjection, CLIPTokenizer

from unclip.cascade.loading import default_model_path
from unclip.models.clip import ClipConfig, ClipModel
from unclip.models.clip_layers import ACTIVATIONS
from unclip.models.tokenizer import load_tokenizer, save_tokenizer, tokenize, train_tokenizer

PROMPTS = [
    "",
    "a red apple",
    "Grinning FACE with   star eyes!",
    "Überstraße 😀 日本 — ñandú, café; naïve résumé",
    "\t tabs\nand newlines  ",
    "42 balloons, 3.14 pies & 1,000,000 dollars!!!",
    "don't you'll we've I'm it's they're he'd",
    "<|startoftext|> special <|endoftext|> tokens typed in",
    "emoji 👩🏽‍🚀🏳️‍🌈 zwj sequences",
    "a very long prompt " * 40,
    "ΑΒΓ кириллица עברית العربية हिन्दी",
    "   ",
    " leading and trailing ",
    "e\u0301cole caf\u00e9 (a combining accent: NFC)",
    "\u200bzero\u200bwidth \u3000ideographic\u3000space a\u00a0nbsp\u2009thin\u2028line",
    "DON'T STOP 'S 'LL ''' \"\"\" ''s",
    "x" * 300,
    "&amp; &lt;b&gt; html entities stay text",
    "ｆｕｌｌｗｉｄｔｈ １２３ ½ ² ٣ 1e10 -42",
    "a,b.c;d:e!f?g(h)[i]{j}<k>/l\\m|n@o#p$q%r^s&t*u-v_w+x=y~z`",
    "tab\ttab\r\n\r\nCRLF \x00\x01 control \x7f",
    "İstanbul ΣΊΣΥΦΟΣ ß ﬁ 한국어 ไทย ქართული",
    "🍎" * 40,
    "👍🏻👍🏿 🇫🇷 🇯🇵 ❤️ ☺︎",
    "word<|endoftext|>word<|startoftext|>",
]


def _random_prompts(n: int, seed: int = 0) -> list[str]:
    """Strings of ASCII, Latin, Greek, CJK and emoji characters and spaces, 0 to 120 characters long."""
    ranges = [(32, 127), (0xA0, 0x250), (0x370, 0x3FF), (0x4E00, 0x4E40), (0x1F600, 0x1F640)]
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi)] + [" "] * 20
    rng = random.Random(seed)
    return ["".join(rng.choice(chars) for _ in range(rng.randint(0, 120))) for _ in range(n)]


CONFIGS = [
    {
        "text_width": 48,
        "text_layers": 2,
        "text_heads": 4,
        "vision_width": 32,
        "vision_layers": 2,
        "vision_heads": 2,
        "image_size": 32,
        "patch_size": 8,
        "embed_dim": 24,
        "text_max_tokens": 16,
        "hidden_act": "quick_gelu",
    },
    {
        "text_width": 40,
        "text_layers": 3,
        "text_heads": 5,
        "text_intermediate": 72,
        "vision_width": 48,
        "vision_layers": 1,
        "vision_heads": 3,
        "vision_intermediate": 64,
        "image_size": 28,
        "patch_size": 7,
        "embed_dim": 16,
        "text_max_tokens": 20,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-6,
    },
]


def _pair(config: ClipConfig, seed: int) -> tuple[ClipModel, torch.nn.Module]:
    torch.manual_seed(seed)
    ours = ClipModel(config).eval()
    with torch.no_grad():  # random weights everywhere, layer norms and biases included
        for p in ours.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    hf_config = config.to_hf()
    theirs = (
        CLIPModel(hf_config) if config.image_tower else CLIPTextModelWithProjection(hf_config.text_config)
    )
    result = theirs.load_state_dict(ours.model.state_dict(), strict=False)
    assert not result.unexpected_keys and all(k.endswith("position_ids") for k in result.missing_keys)
    return ours, theirs.eval()


def _ids(config: ClipConfig, batch: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, config.vocab_size - 2, (batch, config.text_max_tokens), generator=g)
    ids[:, 0] = config.bos_token_id
    for row, length in enumerate(torch.randint(2, config.text_max_tokens + 1, (batch,), generator=g)):
        ids[row, int(length) - 1 :] = config.eos_token_id
    return ids


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("index", range(len(CONFIGS)))
@pytest.mark.parametrize("image_tower", [True, False])
def test_same_outputs_as_transformers(index, dtype, image_tower):
    config = ClipConfig(
        vocab_size=300,
        bos_token_id=298,
        eos_token_id=299,
        pad_token_id=299,
        image_tower=image_tower,
        **CONFIGS[index],
    )
    ours, theirs = _pair(config, index)
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    assert {k: v.shape for k, v in ours.model.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items() if not k.endswith("position_ids")
    }
    ids = _ids(config, 6, index)
    with torch.no_grad():
        got = ours.encode_text(ids, ids != config.eos_token_id)
        text = theirs.text_model(input_ids=ids)
        assert torch.equal(got.hidden, text.last_hidden_state)
        assert torch.equal(got.embeds, theirs.text_projection(text.pooler_output))
        if image_tower:
            pixels = torch.randn(3, 3, config.image_size, config.image_size).to(dtype)
            vision = theirs.vision_model(pixel_values=pixels).pooler_output
            assert torch.equal(ours.encode_image(pixels), theirs.visual_projection(vision))


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("eos", [299, 2])  # 2: the legacy configs that pool the highest id
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_every_activation_and_the_legacy_pooling_match(act, eos, dtype):
    config = ClipConfig(
        vocab_size=300,
        bos_token_id=298,
        eos_token_id=eos,
        pad_token_id=eos,
        image_tower=False,
        **dict(CONFIGS[0], hidden_act=act),
    )
    ours, theirs = _pair(config, 3)
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    ids = _ids(config, 5, 3)
    with torch.no_grad():
        for batch in (ids, ids[:1], ids[:, :1]):  # one token: no causal mask at all
            got = ours.encode_text(batch, batch != eos)
            text = theirs.text_model(input_ids=batch)
            assert torch.equal(got.hidden, text.last_hidden_state)
            assert torch.equal(got.embeds, theirs.text_projection(text.pooler_output))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_default_model_clip_is_transformers_clip(dtype):
    model_dir = default_model_path()
    config = ClipConfig.from_dict(json.loads((model_dir / "clip" / "config.json").read_text()))
    from safetensors.torch import load_file

    state = load_file(str(model_dir / "clip" / "model.safetensors"))
    ours = ClipModel(config).eval()
    ours.load_state_dict(state)
    theirs = CLIPModel(config.to_hf()).eval()
    result = theirs.load_state_dict({k.removeprefix("model."): v for k, v in state.items()}, strict=False)
    assert not result.unexpected_keys and all(k.endswith("position_ids") for k in result.missing_keys)
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    tokenizer = load_tokenizer(model_dir / "tokenizer", config.text_max_tokens)
    tokens = tokenize(tokenizer, PROMPTS, config.text_max_tokens)
    pixels = torch.rand(4, 3, 80, 96, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        got = ours.encode_text(tokens.ids, tokens.mask)
        text = theirs.text_model(input_ids=tokens.ids)
        assert torch.equal(got.hidden, text.last_hidden_state)
        assert torch.equal(got.embeds, theirs.text_projection(text.pooler_output))
        inputs = ours.preprocess(pixels.to(dtype))
        vision = theirs.vision_model(pixel_values=inputs).pooler_output
        assert torch.equal(ours.encode_image(inputs), theirs.visual_projection(vision))


def _theirs(directory, max_length: int) -> CLIPTokenizer:
    tok = CLIPTokenizer.from_pretrained(str(directory))
    tok.model_max_length = max_length
    return tok


@pytest.mark.parametrize("which", ["default model", "trained here"])
def test_tokenizer_gives_transformers_ids(which, tmp_path):
    if which == "default model":
        directory = default_model_path() / "tokenizer"
    else:
        directory = tmp_path
        save_tokenizer(train_tokenizer(PROMPTS * 3 + ["a cat on a mat"] * 5, vocab_size=800), directory)
    ours = load_tokenizer(directory)
    theirs = _theirs(directory, 77)
    assert len(ours) == len(theirs) and ours.get_vocab() == theirs.get_vocab()
    prompts = PROMPTS + _random_prompts(200)
    assert ours.ids(prompts) == theirs(prompts)["input_ids"]
    for length in (2, 3, 8, 32, 77):
        got = tokenize(ours, prompts, length)
        want = theirs(prompts, padding="max_length", max_length=length, truncation=True, return_tensors="pt")
        assert torch.equal(got.ids, want["input_ids"]) and torch.equal(
            got.mask, want["attention_mask"].bool()
        )
    assert (ours.bos_token_id, ours.eos_token_id, ours.pad_token_id) == (
        theirs.bos_token_id,
        theirs.eos_token_id,
        theirs.pad_token_id,
    )
    ids = ours.ids(["Grinning face, star eyes"])[0]
    assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)
