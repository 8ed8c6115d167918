"""Fixtures: diffusers' Karlo networks at reduced widths (random weights), saved in Karlo's two
diffusers layouts, and converted by `unclip convert karlo`."""

from __future__ import annotations

import contextlib
import importlib.util

import pytest
import torch

if importlib.util.find_spec("diffusers") is None:  # the reference implementation (a dev dependency)
    collect_ignore_glob = ["test_*.py"]


@contextlib.contextmanager
def one_thread():
    # These tests run many tiny ops; with the 2 cores shared, one thread avoids OpenMP stalls
    # (measured: 5-20x faster than two).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="session")
def base_tokenizer():
    from unclip.cascade.presets import SAMPLE_CAPTIONS
    from unclip.models.tokenizer import train_tokenizer

    tok = train_tokenizer(SAMPLE_CAPTIONS, vocab_size=1024, min_frequency=1)
    tok.model_max_length = 77
    return tok


@pytest.fixture(scope="session")
def karlo_tok(base_tokenizer, tmp_path_factory):
    """The tokenizer as Karlo ships it: padding with "!"."""
    from unclip.convert.reference import karlo_tokenizer

    return karlo_tokenizer(base_tokenizer, tmp_path_factory.mktemp("karlo_tokenizer"))


@pytest.fixture(scope="session")
def parts(karlo_tok):
    from unclip.convert.reference import KARLO_TINY, build_reference

    with one_thread():
        return build_reference(KARLO_TINY, karlo_tok, seed=0)


@pytest.fixture(scope="session")
def karlo_dir(parts, karlo_tok, base_tokenizer, tmp_path_factory):
    """Like a download of kakaobrain/karlo-v1-alpha (no image encoder)."""
    from unclip.convert.reference import text_pipeline
    from unclip.models.tokenizer import save_tokenizer

    path = tmp_path_factory.mktemp("karlo") / "karlo-v1-alpha"
    text_pipeline(parts, karlo_tok).save_pretrained(path)
    # Karlo's tokenizer folder has vocab.json + merges.txt; transformers 5 writes tokenizer.json only
    # (the variations fixture keeps that form, which the converter reads too).
    save_tokenizer(base_tokenizer, path / "tokenizer")  # the same vocabulary and merges
    return path


@pytest.fixture(scope="session")
def variations_dir(parts, karlo_tok, tmp_path_factory):
    """Like a download of kakaobrain/karlo-v1-alpha-image-variations (no prior)."""
    from unclip.convert.reference import variation_pipeline

    path = tmp_path_factory.mktemp("karlo") / "karlo-v1-alpha-image-variations"
    variation_pipeline(parts, karlo_tok).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def converted_dir(karlo_dir, variations_dir, tmp_path_factory):
    from unclip.cli.main import main

    out = tmp_path_factory.mktemp("converted") / "karlo-unclip"
    with one_thread():
        assert main(["convert", "karlo", str(karlo_dir), str(out), "--with", str(variations_dir)]) == 0
    return out


@pytest.fixture(scope="session")
def converted(converted_dir):
    from unclip.cascade.model_dir import load_cascade

    return load_cascade(converted_dir)
