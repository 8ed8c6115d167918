import json
import shutil

import pytest
import torch

from unclip.cascade.model_dir import load_cascade, save_cascade
from unclip.errors import ModelFormatError
from unclip.pipeline.unclip_pipeline import UnCLIP

FAST = {"prior_steps": 2, "decoder_steps": 2, "upsampler_256_steps": 1, "prior_candidates": 1}


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(tiny_model_dir, dst)
    return dst


def test_round_trip_gives_identical_weights_and_images(tiny_cascade, tiny_model_dir, tmp_path):
    loaded = load_cascade(tiny_model_dir)
    assert set(loaded.modules) == set(tiny_cascade.modules)
    for name, module in tiny_cascade.modules.items():
        a, b = module.state_dict(), loaded.modules[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert loaded.sampling == tiny_cascade.sampling
    original = UnCLIP(tiny_cascade, device="cpu").generate_tensors("a red apple", size=64, seed=3, **FAST)
    again = UnCLIP(loaded, device="cpu").generate_tensors("a red apple", size=64, seed=3, **FAST)
    assert torch.equal(original, again)
    # Saving the loaded model again gives the same files.
    save_cascade(loaded, tmp_path / "again")
    index_a = json.loads((tiny_model_dir / "model_index.json").read_text())
    index_b = json.loads((tmp_path / "again" / "model_index.json").read_text())
    assert index_a == index_b


def test_fp16_storage_halves_the_size(tiny_cascade, tiny_model_dir, tmp_path):
    save_cascade(tiny_cascade, tmp_path / "half", dtype=torch.float16)
    full = (tiny_model_dir / "decoder" / "model.safetensors").stat().st_size
    half = (tmp_path / "half" / "decoder" / "model.safetensors").stat().st_size
    assert half < 0.55 * full
    loaded = load_cascade(tmp_path / "half", dtype=torch.float32)
    assert next(loaded.decoder.parameters()).dtype == torch.float32


def test_missing_weights_file(model_copy):
    (model_copy / "prior" / "model.safetensors").unlink()
    with pytest.raises(ModelFormatError, match=r"prior/model.safetensors: weights file missing"):
        load_cascade(model_copy)


def test_truncated_weights_file(model_copy):
    path = model_copy / "decoder" / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match=r"decoder/model.safetensors: truncated"):
        load_cascade(model_copy)


def test_corrupted_weights_file(model_copy):
    path = model_copy / "clip" / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match=r"clip/model.safetensors: corrupted"):
        load_cascade(model_copy)


def test_config_that_does_not_match_weights(model_copy):
    cfg_path = model_copy / "upsampler_256" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["unet"]["channels"] = [16, 48]
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelFormatError, match=r"upsampler_256/model.safetensors: .*shape"):
        load_cascade(model_copy)


def test_unknown_config_key_and_bad_json(model_copy):
    cfg_path = model_copy / "prior" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["widht"] = 3
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelFormatError, match=r"prior/config.json: unknown key\(s\) \['widht'\]"):
        load_cascade(model_copy)
    (model_copy / "model_index.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="model_index.json: not valid JSON"):
        load_cascade(model_copy)


def test_not_a_model_directory(tmp_path):
    with pytest.raises(ModelFormatError, match="not found"):
        load_cascade(tmp_path / "nope")
    with pytest.raises(ModelFormatError, match="model_index.json: missing"):
        load_cascade(tmp_path)


@pytest.mark.parametrize(
    ("device", "match"),
    [
        ("nonsense", "device 'nonsense': not a device name"),
        ("cuda:7x", "device 'cuda:7x': not a device name"),
        pytest.param(
            "cuda",
            "device 'cuda': CUDA is not available here",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),
        ),
    ],
)
def test_bad_device_is_an_input_error_naming_it(tiny_model_dir, tiny_cascade, device, match):
    from unclip.errors import InputError

    with pytest.raises(InputError, match=match):
        UnCLIP.from_pretrained(tiny_model_dir, device=device)
    with pytest.raises(InputError, match=match):
        UnCLIP(tiny_cascade, device=device)
