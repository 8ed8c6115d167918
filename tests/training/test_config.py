"""Training configs: one typed schema per stage, unknown keys and wrong types named in the error."""

import json

import pytest

from unclip.cli.main import main
from unclip.training.config import load_train_config
from unclip.training.example_configs import example_config, to_toml
from unclip.utils.config import ConfigError


def write(path, text):
    path.write_text(text)
    return path


def test_toml_json_yaml_load_to_the_same_config(tmp_path):
    toml = write(
        tmp_path / "a.toml",
        'run_dir = "r"\n[train]\nsteps = 5\n[prior]\nclip = "c"\n[prior.model]\nwidth = 64\nheads = 2\n',
    )
    data = {"run_dir": "r", "train": {"steps": 5}, "prior": {"clip": "c", "model": {"width": 64, "heads": 2}}}
    js = write(tmp_path / "a.json", json.dumps(data))
    yaml = write(
        tmp_path / "a.yaml",
        "run_dir: r\ntrain:\n  steps: 5\nprior:\n  clip: c\n  model:\n    width: 64\n    heads: 2\n",
    )
    configs = [load_train_config(p, "prior") for p in (toml, js, yaml)]
    assert configs[0] == configs[1] == configs[2]
    assert configs[0].stage.model.width == 64 and configs[0].stage.caption_dropout == 0.1


@pytest.mark.parametrize(
    "text, message",
    [
        ('run_dir = "r"\n[train]\nstep = 5\n', r"a.toml.train: unknown key\(s\) \['step'\]"),
        ('run_dir = "r"\n[train]\nsteps = "many"\n', r"a.toml.train.steps: expected an integer, got 'many'"),
        (
            'run_dir = "r"\n[clip.model]\nembed_dim = 1.5\n',
            r"a.toml.clip.model.embed_dim: expected an integer, got 1.5",
        ),
        (
            'run_dir = "r"\n[optim]\nschedule = "linear"\n',
            r"a.toml.optim: schedule must be 'constant' or 'cosine'",
        ),
        ("[train]\nsteps = 5\n", r"a.toml: missing required key\(s\) \['run_dir'\]"),
        ('run_dir = "r"\n[decoder]\nclip = "c"\n', r"this is a decoder config, not a clip config"),
        ('run_dir = "r"\n[train\n', r"a.toml: not valid TOML"),
    ],
)
def test_config_errors_name_the_problem(tmp_path, text, message):
    path = write(tmp_path / "a.toml", text)
    with pytest.raises(ConfigError, match=message):
        load_train_config(path, "clip")


def test_stage_specific_checks(tmp_path):
    with pytest.raises(ConfigError, match=r"prior: clip is empty"):
        load_train_config({"run_dir": "r", "prior": {}}, "prior")
    with pytest.raises(ConfigError, match=r"missing the \[decoder\] section"):
        load_train_config({"run_dir": "r"}, "decoder")
    with pytest.raises(ConfigError, match=r"crop_size 30 must be a multiple of high_res/low_res = 4"):
        load_train_config({"run_dir": "r", "upsampler": {"crop_size": 30}}, "upsampler")
    with pytest.raises(ConfigError, match=r"caption_dropout must be in \[0, 1\]"):
        load_train_config({"run_dir": "r", "decoder": {"clip": "c", "caption_dropout": 2}}, "decoder")
    for bad, message in (
        ({"high_noise_share": 1.5}, r"high_noise_share must be in \[0, 1\]"),
        ({"high_noise_from": 1000}, r"high_noise_from must be in \[0, 999\]"),
        ({"v_weight_cap": -2}, r"v_weight_cap must be non-negative"),
        ({"v_weight_cap": 20, "min_snr_gamma": 5}, r"set at most one"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_train_config({"run_dir": "r", "decoder": {"clip": "c", **bad}}, "decoder")


def test_high_noise_share_draws_that_share_of_timesteps_from_the_high_noise_range():
    import torch

    from unclip.models.decoder import DecoderConfig
    from unclip.training.stages.base import draw_diffusion

    cfg = DecoderConfig().diffusion
    g = torch.Generator().manual_seed(0)
    ts = torch.stack([draw_diffusion(cfg, (1,), g, 0.75, 600)["t"] for _ in range(4000)])
    uniform = torch.stack([draw_diffusion(cfg, (1,), g)["t"] for _ in range(4000)])
    # 75% from [600, 1000) plus 25% uniform (of which 40% land there too): 85% at t >= 600
    assert abs(float((ts >= 600).float().mean()) - 0.85) < 0.03
    assert abs(float((uniform >= 600).float().mean()) - 0.40) < 0.03
    assert int(ts.min()) < 600 and int(ts.max()) <= 999


def test_set_overrides(tmp_path):
    cfg = load_train_config(
        {"run_dir": "r"},
        "clip",
        ["train.steps=7", "optim.lr=3e-4", "data.source=some/where", "optim.betas=[0.9, 0.95]"],
    )
    assert (cfg.train.steps, cfg.optim.lr, cfg.data.source, cfg.optim.betas) == (
        7,
        3e-4,
        "some/where",
        (0.9, 0.95),
    )
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_train_config({"run_dir": "r"}, "clip", ["train.steps"])


@pytest.mark.parametrize("stage", ["clip", "prior", "decoder", "upsampler"])
@pytest.mark.parametrize("preset", ["tiny", "bench", "paper"])
def test_example_configs_load(tmp_path, stage, preset):
    path = write(
        tmp_path / "c.toml", to_toml(example_config(stage, preset, "data", "runs/x", "runs/clip"), stage)
    )
    cfg = load_train_config(path, stage)
    assert cfg.run_dir == "runs/x"


def test_cli_reports_config_errors_without_traceback(tmp_path, capsys):
    path = write(tmp_path / "a.toml", 'run_dir = "r"\n[train]\nbatch_sise = 4\n')
    assert main(["train", "clip", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "unknown key(s) ['batch_sise']" in err and "Traceback" not in err


def test_shipped_example_configs_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs" / "train"
    files = sorted(root.glob("*.toml"))
    assert files
    for path in files:
        stage = next(s for s in ("clip", "prior", "decoder", "upsampler") if f"[{s}" in path.read_text())
        load_train_config(path, stage)


def test_init_config_writes_a_loadable_commented_config(tmp_path):
    path = tmp_path / "prior.toml"
    assert (
        main(
            [
                "train",
                "init-config",
                "prior",
                "-o",
                str(path),
                "--preset",
                "tiny",
                "--data",
                "d",
                "--clip",
                "runs/c",
            ]
        )
        == 0
    )
    text = path.read_text()
    assert "caption_dropout = 0.1  # replace the caption with the empty caption (paper: 10%)" in text
    cfg = load_train_config(path, "prior")
    assert (cfg.data.source, cfg.stage.clip, cfg.stage.model.width) == ("d", "runs/c", 64)


@pytest.mark.parametrize("name", ["prior.toml", "prior.json", "prior.yaml"])
def test_a_config_that_is_not_utf8_is_a_config_error_naming_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b'run_dir = "caf\xe9"\n')  # Latin-1, not UTF-8
    with pytest.raises(ConfigError, match=f"{name}: not a UTF-8 text file \\(byte 0xe9 at offset 14\\)"):
        load_train_config(path, "prior")


def test_a_sampling_config_that_is_not_utf8_is_a_config_error_naming_the_file(tmp_path):
    from unclip.cascade.settings import SamplingConfig

    path = tmp_path / "sampling.json"
    path.write_bytes(b"\xff\xfe{}")  # UTF-16
    with pytest.raises(ConfigError, match="sampling.json: not a UTF-8 text file"):
        SamplingConfig.load(path)


def test_cli_export_reports_a_sampling_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "sampling.json"
    path.write_bytes(b"\xff\xfe{}")
    runs = [
        "--clip",
        "c",
        "--prior",
        "p",
        "--decoder",
        "d",
        "--upsampler-256",
        "u",
    ]  # not read: sampling is first
    rc = main(["train", "export", *runs, "--sampling", str(path), "-o", str(tmp_path / "model")])
    err = capsys.readouterr().err
    assert rc == 2 and f"{path}: not a UTF-8 text file" in err and "Traceback" not in err
