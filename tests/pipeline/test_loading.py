"""The one model loader (`unclip.cascade.loading`), behind the CLI, the server and `UnCLIP.from_pretrained`."""

from __future__ import annotations

import pytest
import torch

from unclip.cascade import loading
from unclip.cascade.loading import RANDOM_FALLBACK_NAME, default_model_path, load_model
from unclip.errors import ModelFormatError
from unclip.pipeline.unclip_pipeline import UnCLIP


def test_a_model_directory_loads_with_its_name_and_path(tiny_model_dir):
    loaded = load_model(tiny_model_dir, device="cpu", dtype=torch.float32)
    assert loaded.path == tiny_model_dir and loaded.name == f"unclip model {tiny_model_dir.name}"
    assert "decoder_inpaint" in loaded.cascade.modules
    plain = load_model(tiny_model_dir, device="cpu", components=[])
    assert "decoder_inpaint" not in plain.cascade.modules and "decoder" in plain.cascade.modules


def test_the_default_model_is_named_as_such():
    pipe = UnCLIP.from_pretrained(device="cpu", dtype=torch.float32, components=[], safety=False)
    assert pipe.model_name == "unclip default model" and pipe.model_path == default_model_path()


def test_a_path_with_a_tilde_is_the_home_folder(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(tiny_model_dir.parent))
    assert load_model(f"~/{tiny_model_dir.name}", device="cpu").path == tiny_model_dir


def test_without_an_installed_default_a_random_tiny_cascade_stands_in_and_says_so(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(loading, "default_model_path", lambda: tmp_path / "absent")
    pipe = UnCLIP.from_pretrained(device="cpu", safety=False)
    assert "no embedded default model is installed" in capsys.readouterr().err
    assert pipe.model_name == RANDOM_FALLBACK_NAME and pipe.model_path is None
    assert "decoder_inpaint" in pipe.cascade.modules  # edits work the same from the CLI and the server
    assert len(pipe.generate("a red apple", size=64, seed=0, prior_steps=2, decoder_steps=2)) == 1


def test_a_named_directory_that_is_missing_is_an_error_not_the_fallback(tmp_path):
    with pytest.raises(ModelFormatError, match="model directory not found"):
        load_model(tmp_path / "nope")
