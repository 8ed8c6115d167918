"""Precomputed embeddings, inpainting fine-tuning and export to a model directory that generates."""

import copy

import helpers as H
import pytest
import torch

from unclip.cli.main import main
from unclip.data.config import DataConfig
from unclip.data.embeddings import EmbeddingStore, shard_name
from unclip.models.decoder import Decoder, DecoderConfig
from unclip.pipeline.unclip_pipeline import UnCLIP
from unclip.training.config import load_train_config
from unclip.training.embed import embed_dataset
from unclip.training.runs import RunError, load_trained
from unclip.training.stages.base import init_from
from unclip.training.trainer import train


def inpaint_model(model: dict) -> dict:
    model = copy.deepcopy(model)
    model["inpainting"] = True
    model["unet"]["in_channels"] += 4
    return model


@pytest.fixture(scope="module")
def runs(shapes_data, clip_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("stages")
    emb = root / "emb"
    embed_dataset(
        clip_run,
        DataConfig(source=str(shapes_data), num_workers=0),
        emb,
        batch_size=4,
        shard_size=3,
        hidden=True,
        log=lambda m: None,
    )
    prior = H.prior_config(root / "prior", shapes_data, clip_run, steps=2, batch=4)
    prior["data"]["embeddings"] = str(emb)
    train(load_train_config(prior, "prior"))
    train(
        load_train_config(
            H.decoder_config(root / "decoder", shapes_data, clip_run, steps=2, batch=4), "decoder"
        )
    )
    inpaint = H.decoder_config(root / "decoder_inpaint", shapes_data, clip_run, steps=2, batch=4)
    inpaint["decoder"].update(model=inpaint_model(H.DECODER_MODEL), init_from=str(root / "decoder"))
    train(load_train_config(inpaint, "decoder"))
    up = H.upsampler_config(root / "up256", shapes_data, steps=2, batch=4)
    up["upsampler"]["model"].update(low_res=64, high_res=256)
    up["data"]["min_image_size"] = 32  # the test images are 64 px: upscaled to 256, fine for a smoke test
    train(load_train_config(up, "upsampler"))
    return {
        "root": root,
        "clip": clip_run,
        "emb": emb,
        "prior": root / "prior",
        "decoder": root / "decoder",
        "decoder_inpaint": root / "decoder_inpaint",
        "upsampler_256": root / "up256",
    }


def test_embed_writes_aligned_shards_and_resumes(runs, clip_run, shapes_data):
    emb = runs["emb"]
    store = EmbeddingStore(emb)
    assert store.info.records == 8 and store.info.num_shards == 3 and store.has_hidden
    row = store.row(5)
    assert row["image_embeds"].shape == (32,) and row["text_hidden"].shape == (8, 32)
    (emb / shard_name(1)).unlink()
    lines = []
    embed_dataset(
        clip_run,
        DataConfig(source=str(shapes_data), num_workers=0),
        emb,
        batch_size=4,
        shard_size=3,
        hidden=True,
        log=lines.append,
    )
    assert "1 shard(s) written, 2 already done" in lines[-1]
    assert torch.equal(EmbeddingStore(emb).row(5)["image_embeds"], row["image_embeds"])


def test_inpainting_init_zeroes_only_the_new_channels(runs):
    decoder = load_trained(runs["decoder"], "decoder")
    fresh = Decoder(DecoderConfig.from_dict(inpaint_model(H.DECODER_MODEL)))
    notes = init_from(fresh, str(runs["decoder"]), "decoder")
    assert any("3 -> 7 input channels" in n for n in notes)
    w, src = fresh.unet.conv_in.weight, decoder.unet.conv_in.weight
    assert torch.equal(w[:, :3], src) and not w[:, 3:].any()
    assert torch.equal(fresh.unet.conv_out.weight, decoder.unet.conv_out.weight)
    trained = load_trained(runs["decoder_inpaint"], "decoder_inpaint")
    assert trained.config.inpainting


def test_export_makes_a_model_directory_that_generates(runs, tmp_path):
    out = tmp_path / "model"
    args = [
        "train",
        "export",
        "-o",
        str(out),
        "--clip",
        str(runs["clip"]),
        "--prior",
        str(runs["prior"]),
        "--decoder",
        str(runs["decoder"]),
        "--upsampler-256",
        str(runs["upsampler_256"]),
        "--decoder-inpaint",
        str(runs["decoder_inpaint"]),
    ]
    assert main(args) == 0
    assert "Test shapes" in (out / "ATTRIBUTION.md").read_text()
    pipe = UnCLIP.from_pretrained(out, device="cpu", dtype=torch.float32)  # bf16 on CPUs that have it
    assert set(pipe.cascade.modules) == {"clip", "prior", "decoder", "upsampler_256", "decoder_inpaint"}
    ema = load_trained(runs["decoder"], "decoder").state_dict()
    assert all(torch.equal(v, pipe.cascade.decoder.state_dict()[k]) for k, v in ema.items())
    images = pipe.generate(
        "a red circle",
        n=1,
        size=256,
        seed=0,
        prior_steps=2,
        decoder_steps=2,
        upsampler_256_steps=2,
        prior_candidates=1,
    )
    assert images[0].size == (256, 256)


def test_init_component_continues_the_inpainting_decoder_of_a_model_directory(runs, tmp_path):
    """`init_component = "decoder_inpaint"` starts from a model directory's inpainting decoder (all its
    weights), not from its text-to-image decoder with zeroed extra channels."""
    out = tmp_path / "model"
    assert (
        main(
            [
                "train",
                "export",
                "-o",
                str(out),
                "--clip",
                str(runs["clip"]),
                "--prior",
                str(runs["prior"]),
                "--decoder",
                str(runs["decoder"]),
                "--upsampler-256",
                str(runs["upsampler_256"]),
                "--decoder-inpaint",
                str(runs["decoder_inpaint"]),
            ]
        )
        == 0
    )
    shipped = load_trained(out, "decoder_inpaint").state_dict()
    for component, same in (("decoder_inpaint", True), ("decoder", False)):
        fresh = Decoder(DecoderConfig.from_dict(inpaint_model(H.DECODER_MODEL)))
        init_from(fresh, str(out), component)
        assert all(torch.equal(v, shipped[k]) for k, v in fresh.state_dict().items()) is same
    cfg = H.decoder_config(tmp_path / "run", runs["root"], runs["clip"], steps=1, batch=4)
    cfg["decoder"].update(init_from=str(out), init_component="prior")
    with pytest.raises(Exception, match="init_component must be decoder or decoder_inpaint"):
        load_train_config(cfg, "decoder")


def test_export_refuses_mismatched_stages(runs, tmp_path):
    with pytest.raises(RunError, match="cannot go into the decoder slot"):
        from unclip.training.export import export_model

        export_model(
            tmp_path / "m",
            runs["clip"],
            {
                "prior": runs["prior"],
                "decoder": runs["decoder_inpaint"],
                "upsampler_256": runs["upsampler_256"],
            },
        )
    with pytest.raises(RunError, match="this run trained a prior, not a decoder"):
        load_trained(runs["prior"], "decoder")


def test_attribution_files_merge_each_source_once(tmp_path):
    """Stages trained on overlapping datasets (and a model directory that already holds a merged file)
    give one preamble and each source's section once, in first-seen order."""
    from unclip.training.export import _attribution

    emoji = "# Attribution\n\nKeep this file.\n\n## twitter\n\nCC-BY-4.0, attribution required.\n\n## fluent\n\nMIT.\n"
    clipart = "# Attribution\n\nKeep this file.\n\n## fluent\n\nMIT.\n\n## openclipart\n\npublic domain.\n"
    dirs = []
    for name, text in (("a", emoji), ("b", clipart), ("c", emoji + "\n" + clipart)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ATTRIBUTION.md").write_text(text)
        dirs.append(tmp_path / name)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ATTRIBUTION.md").write_text("Photos by the test suite (CC0).\n")  # no headings at all
    merged = _attribution([*dirs, tmp_path / "d"])
    headers = [line for line in merged.splitlines() if line.startswith("#")]
    assert headers == ["# Attribution", "## twitter", "## fluent", "## openclipart"]
    assert "CC-BY-4.0, attribution required." in merged and merged.count("MIT.") == 1
    assert merged.rstrip().endswith(
        "Photos by the test suite (CC0)."
    )  # a file without sections is kept whole
