"""Every stage learns: on 8 images its loss falls far below where it started."""

import csv

import helpers as H
import pytest
import torch
from PIL import Image

from unclip.training.config import load_train_config
from unclip.training.runs import load_trained
from unclip.training.trainer import train


def losses(run):
    with (run / "metrics.csv").open() as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def start_end(run, n=5):
    values = losses(run)
    return sum(values[:n]) / n, sum(values[-n:]) / n


def test_clip_learns_to_match_captions(clip_run):
    start, end = start_end(clip_run)
    assert end < 0.2 * start, (start, end)
    assert (clip_run / "tokenizer" / "vocab.json").is_file()
    assert (clip_run / "ATTRIBUTION.md").read_text().startswith("# Attribution")
    with (clip_run / "metrics.csv").open() as f:
        assert float(list(csv.DictReader(f))[-1]["accuracy"]) == 1.0


def test_prior_overfits_and_stores_embedding_statistics(shapes_data, clip_run, tmp_path):
    run = tmp_path / "prior"
    cfg = H.prior_config(run, shapes_data, clip_run, steps=40, batch=8, sample_every=40, sample_steps=4)
    cfg["optim"]["lr"] = 3e-3
    train(load_train_config(cfg, "prior"))
    start, end = start_end(run)
    assert end < 0.3 * start, (start, end)
    prior = load_trained(run, "prior")
    assert not torch.allclose(
        prior.embed_std, torch.ones_like(prior.embed_std)
    )  # real statistics, not the init
    with (run / "metrics.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    assert float(last["sample_cos_image"]) > 0.5  # sampled embeddings resemble the true ones


@pytest.mark.parametrize("stage", ["decoder", "upsampler"])
def test_diffusion_stages_overfit(stage, shapes_data, clip_run, tmp_path):
    run = tmp_path / stage
    if stage == "decoder":
        cfg = H.decoder_config(run, shapes_data, clip_run, steps=40, batch=8, sample_every=40, sample_steps=3)
    else:
        cfg = H.upsampler_config(run, shapes_data, steps=40, batch=8, sample_every=40, sample_steps=3)
    cfg["optim"]["lr"] = 3e-3
    train(load_train_config(cfg, stage))
    start, end = start_end(run)
    assert end < 0.5 * start, (start, end)
    grid = run / "samples" / "step-00000040.png"
    with Image.open(grid) as im:
        assert im.size[0] > 0
