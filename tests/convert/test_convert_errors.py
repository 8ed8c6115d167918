"""What the converter accepts, what it refuses, and that refusals name the file and the tensors/keys."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from unclip.cascade.model_dir import load_cascade
from unclip.cli.main import main
from unclip.convert import convert_karlo_dir
from unclip.errors import InputError, ModelFormatError

WEIGHTS = "diffusion_pytorch_model.safetensors"


@pytest.fixture
def karlo_copy(karlo_dir, tmp_path):
    dst = tmp_path / "karlo"
    shutil.copytree(karlo_dir, dst)
    return dst


def edit_weights(folder, change) -> None:  # type: ignore[no-untyped-def]
    path = folder / WEIGHTS
    state = load_file(str(path))
    change(state)
    save_file(state, str(path))


def edit_config(folder, change, name="config.json") -> None:  # type: ignore[no-untyped-def]
    path = folder / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_text_only_source_gives_a_text_only_clip(karlo_dir, tmp_path):
    report = convert_karlo_dir(karlo_dir, tmp_path / "out", dtype=torch.float16)
    assert not report.image_tower and any("--with" in n for n in report.notes)
    cascade = load_cascade(tmp_path / "out", dtype=torch.float32)
    assert not cascade.clip.config.image_tower
    assert load_file(str(tmp_path / "out" / "prior" / "model.safetensors"))["query"].dtype == torch.float16
    with pytest.raises(InputError, match="no image encoder"):
        cascade.clip.encode_image(torch.zeros(1, 3, 32, 32))
    ids = torch.tensor([[cascade.tokenizer.bos_token_id, cascade.tokenizer.eos_token_id] + [0] * 75])
    assert cascade.clip.encode_text(ids, ids > 0).embeds.shape == (1, 24)


def test_variations_repo_alone_lacks_the_prior(variations_dir, tmp_path):
    with pytest.raises(ModelFormatError, match=r"no prior/ component.*--with"):
        convert_karlo_dir(variations_dir, tmp_path / "out")


def test_variations_repo_with_the_text_repo_converts(variations_dir, karlo_dir, tmp_path):
    """Earlier sources win: decoder, upsamplers, CLIP (read from tokenizer.json) from the variations
    download, the prior from karlo-v1-alpha."""
    report = convert_karlo_dir(variations_dir, tmp_path / "out", with_dirs=[karlo_dir])
    assert report.image_tower
    assert report.origins["prior"].startswith(str(karlo_dir))
    assert report.origins["decoder"].startswith(str(variations_dir))
    assert load_cascade(tmp_path / "out").clip.config.image_tower


def test_unexpected_tensor_is_an_error_naming_it(karlo_copy, tmp_path):
    edit_weights(karlo_copy / "decoder", lambda s: s.__setitem__("mid_block.extra.weight", torch.zeros(2)))
    with pytest.raises(
        ModelFormatError,
        match=r"decoder/diffusion_pytorch_model.safetensors: unexpected tensor\(s\) mid_block.extra.weight",
    ):
        convert_karlo_dir(karlo_copy, tmp_path / "out")


def test_missing_tensor_is_an_error_naming_it(karlo_copy, tmp_path):
    edit_weights(karlo_copy / "decoder", lambda s: s.pop("mid_block.attentions.0.to_k.weight"))
    with pytest.raises(ModelFormatError, match=r"missing tensor\(s\) mid_block.attentions.0.to_k.weight"):
        convert_karlo_dir(karlo_copy, tmp_path / "out")
    assert not (tmp_path / "out" / "model_index.json").exists()


def test_wrong_shape_is_an_error_naming_the_tensor(karlo_copy, tmp_path):
    edit_weights(karlo_copy / "prior", lambda s: s.__setitem__("proj_in.weight", torch.zeros(32, 25)))
    with pytest.raises(
        ModelFormatError,
        match=r"prior/diffusion_pytorch_model.safetensors: proj_in.weight has shape \(32, 25\)",
    ):
        convert_karlo_dir(karlo_copy, tmp_path / "out")


@pytest.mark.parametrize(
    ("folder", "key", "value", "message"),
    [
        (
            "decoder",
            "resnet_time_scale_shift",
            "spatial",
            "resnet_time_scale_shift='spatial' is not supported",
        ),
        ("decoder", "only_cross_attention", True, "only_cross_attention=True is not supported"),
        ("super_res_first", "add_attention", True, "add_attention=True is not supported"),
        ("prior", "embedding_proj_norm_type", "layer", "embedding_proj_norm_type='layer' is not supported"),
        (
            "decoder",
            "some_new_setting",
            3,
            r"unknown setting\(s\) unclip cannot reproduce: some_new_setting=3",
        ),
    ],
)
def test_unsupported_settings_are_errors_naming_the_key(karlo_copy, tmp_path, folder, key, value, message):
    edit_config(karlo_copy / folder, lambda c: c.__setitem__(key, value))
    with pytest.raises(ModelFormatError, match=f"{folder}/config.json: {message}"):
        convert_karlo_dir(karlo_copy, tmp_path / "out")


def test_unsupported_block_type(karlo_copy, tmp_path):
    def change(c):  # type: ignore[no-untyped-def]
        c["down_block_types"][1] = "CrossAttnDownBlock2D"

    edit_config(karlo_copy / "decoder", change)
    with pytest.raises(ModelFormatError, match=r"block type\(s\) \['CrossAttnDownBlock2D'\] not supported"):
        convert_karlo_dir(karlo_copy, tmp_path / "out")


def test_bin_and_sharded_weights_convert_identically(karlo_copy, converted, tmp_path):
    sr = karlo_copy / "super_res_first"
    torch.save(load_file(str(sr / WEIGHTS)), sr / "diffusion_pytorch_model.bin")
    (sr / WEIGHTS).unlink()
    prior = karlo_copy / "prior"
    state = load_file(str(prior / WEIGHTS))
    keys = sorted(state)
    shards = {"p-00001.safetensors": keys[: len(keys) // 2], "p-00002.safetensors": keys[len(keys) // 2 :]}
    for name, part in shards.items():
        save_file({k: state[k] for k in part}, str(prior / name))
    index = {"weight_map": {k: name for name, part in shards.items() for k in part}}
    (prior / f"{WEIGHTS}.index.json").write_text(json.dumps(index))
    (prior / WEIGHTS).unlink()
    convert_karlo_dir(karlo_copy, tmp_path / "out")
    again = load_cascade(tmp_path / "out")
    for name in ("prior", "upsampler_256"):
        a, b = again.modules[name].state_dict(), converted.modules[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_pickled_objects_in_bin_files_are_refused(karlo_copy, tmp_path):
    sr = karlo_copy / "super_res_last"
    torch.save(
        {"conv_in.weight": torch.zeros(1), "evil": ModelFormatError("x")}, sr / "diffusion_pytorch_model.bin"
    )
    (sr / WEIGHTS).unlink()
    with pytest.raises(
        ModelFormatError, match=r"super_res_last/diffusion_pytorch_model.bin: cannot be read safely"
    ):
        convert_karlo_dir(karlo_copy, tmp_path / "out")


def test_scheduler_settings_are_mapped_and_checked(karlo_copy, tmp_path):
    shutil.rmtree(karlo_copy / "prior_scheduler")
    edit_config(
        karlo_copy / "super_res_scheduler",
        lambda c: c.__setitem__("clip_sample", False),
        "scheduler_config.json",
    )
    report = convert_karlo_dir(karlo_copy, tmp_path / "out")
    assert any("prior_scheduler" in n for n in report.notes)
    cascade = load_cascade(tmp_path / "out")
    assert cascade.prior.config.diffusion.clip_range == 5.0  # Karlo's own prior setting
    assert cascade.upsampler(256).config.diffusion.clip_range is None
    edit_config(
        karlo_copy / "decoder_scheduler",
        lambda c: c.__setitem__("beta_schedule", "linear"),
        "scheduler_config.json",
    )
    with pytest.raises(
        ModelFormatError, match=r"decoder_scheduler/scheduler_config.json: beta_schedule='linear'"
    ):
        convert_karlo_dir(karlo_copy, tmp_path / "out2")


def test_cli_errors_exit_2_with_a_message(karlo_dir, karlo_copy, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["convert", "karlo", str(karlo_dir), str(out)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert main(["convert", "karlo", str(tmp_path / "nope"), str(tmp_path / "o2")]) == 2
    assert "directory not found" in capsys.readouterr().err
    edit_config(
        karlo_copy, lambda c: c.__setitem__("_class_name", "StableDiffusionPipeline"), "model_index.json"
    )
    assert main(["convert", "karlo", str(karlo_copy), str(tmp_path / "o3")]) == 2
    assert "not a Karlo pipeline" in capsys.readouterr().err


def test_adding_unclips_1024_upsampler(karlo_dir, tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["convert", "karlo", str(karlo_dir), str(out), "--upsampler-1024", str(tiny_model_dir)]) == 0
    assert "generate up to 1024 px" in capsys.readouterr().out
    cascade = load_cascade(out)
    tiny = load_cascade(tiny_model_dir)
    assert cascade.sampling.upsampler_1024 == tiny.sampling.upsampler_1024
    assert "upsampler_1024" in (out / "ATTRIBUTION.md").read_text()
    from unclip.pipeline.unclip_pipeline import UnCLIP

    fast = {"prior_steps": 2, "decoder_steps": 2, "upsampler_256_steps": 2, "upsampler_1024_steps": 1}
    images = UnCLIP(cascade, device="cpu").generate("a red apple", size=1024, seed=0, **fast)
    assert images[0].size == (1024, 1024)
