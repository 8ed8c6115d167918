"""`embed_dataset` checks its arguments and its data before it writes anything."""

import json

import pytest
from PIL import Image

from unclip.cli.main import main
from unclip.data.config import DataConfig
from unclip.errors import InputError
from unclip.training.embed import embed_dataset


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    Image.new("RGB", (64, 64), "red").save(root / "0.png")
    (root / "0.txt").write_text("a red square")
    return root


@pytest.mark.parametrize(("name", "value"), [("batch_size", 0), ("shard_size", 0), ("batch_size", -4)])
def test_bad_sizes_are_input_errors_and_write_nothing(tiny_model_dir, dataset, tmp_path, name, value):
    out = tmp_path / "emb"
    sizes = {"batch_size": 4, "shard_size": 4, name: value}
    with pytest.raises(InputError, match=f"{name}: must be a whole number of at least 1"):
        embed_dataset(
            tiny_model_dir, DataConfig(source=str(dataset), num_workers=0), out, log=lambda m: None, **sizes
        )
    assert not out.exists()


def test_cli_metadata_that_is_not_utf8_is_reported_and_leaves_no_output(tiny_model_dir, tmp_path, capsys):
    data = tmp_path / "set"
    data.mkdir()
    Image.new("RGB", (64, 64), "red").save(data / "0.png")
    (data / "metadata.jsonl").write_bytes(
        json.dumps({"file": "0.png", "caption": "x"}).encode()[:-2] + b'\xe9"}\n'
    )
    out = tmp_path / "emb"
    rc = main(
        ["embed", "--clip", str(tiny_model_dir), "--data", str(data), "--out", str(out), "--num-workers", "0"]
    )
    err = capsys.readouterr().err
    assert rc == 2 and f"{data / 'metadata.jsonl'}: line 1 is not UTF-8 text (byte 0xe9)" in err, err
    assert "Traceback" not in err and not out.exists()
