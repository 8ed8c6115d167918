import pytest
import torch

from unclip.errors import ModelFormatError
from unclip.models.tokenizer import load_tokenizer, save_tokenizer, tokenize, train_tokenizer


def test_round_trip_gives_identical_ids(tiny_tokenizer, tmp_path):
    save_tokenizer(tiny_tokenizer, tmp_path)
    loaded = load_tokenizer(tmp_path)
    texts = ["a red apple", "Grinning FACE with   star eyes!", "Überstraße 😀 日本"]
    assert tiny_tokenizer.ids(texts) == loaded.ids(texts)


def test_any_text_encodes_without_unknown_tokens(tiny_tokenizer):
    ids = tiny_tokenizer.ids(["zebra crossing ☃ ñandú — 42"])[0]
    assert tiny_tokenizer.unk_token_id not in ids[1:-1]
    assert tiny_tokenizer.decode(ids, skip_special_tokens=True).replace(" ", "") == "zebracrossing☃ñandú—42"


def test_learned_merges_make_frequent_words_single_tokens():
    tok = train_tokenizer(["a red apple"] * 5 + ["a red car"] * 5, vocab_size=700, min_frequency=2)
    ids = tok.ids(["red apple"])[0]
    assert len(ids) == 4  # BOS, red</w>, apple</w>, EOS


def test_tokenize_pads_and_truncates_keeping_eos(tiny_tokenizer):
    out = tokenize(tiny_tokenizer, ["a red apple", "apple " * 50], max_length=12)
    assert out.ids.shape == (2, 12)
    eos = tiny_tokenizer.eos_token_id
    assert out.ids[1, -1] == eos and out.mask[1].all()
    assert out.mask[0].sum() == 5  # BOS a red apple EOS


def test_missing_or_malformed_files_are_named(tiny_tokenizer, tmp_path):
    with pytest.raises(ModelFormatError, match="vocab.json"):
        load_tokenizer(tmp_path)
    save_tokenizer(tiny_tokenizer, tmp_path)
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b c\n")
    with pytest.raises(ModelFormatError, match="merges.txt"):
        load_tokenizer(tmp_path)


def test_a_prompt_with_a_lone_surrogate_is_an_input_error(tiny_tokenizer):
    from unclip.errors import InputError

    with pytest.raises(
        InputError, match=r"prompt is not valid Unicode text \(unpaired surrogate '\\ud800' at character 0\)"
    ):
        tokenize(tiny_tokenizer, ["a red apple", "\ud800 apple"], 16)


def test_generate_with_a_lone_surrogate_is_an_input_error(tiny_cascade):
    from unclip.errors import InputError
    from unclip.pipeline.unclip_pipeline import UnCLIP

    with pytest.raises(InputError, match="prompt is not valid Unicode text"):
        UnCLIP(tiny_cascade, device="cpu").generate("\ud800 apple", size=64, prior_candidates=1)


def test_copies_and_pickles_give_the_same_ids(tiny_tokenizer):
    import copy
    import pickle

    texts = ["a red apple", "Überstraße 😀 日本"]
    for other in (copy.deepcopy(tiny_tokenizer), pickle.loads(pickle.dumps(tiny_tokenizer))):
        assert other.ids(texts) == tiny_tokenizer.ids(texts)
        assert torch.equal(tokenize(other, texts, 16).ids, tokenize(tiny_tokenizer, texts, 16).ids)
