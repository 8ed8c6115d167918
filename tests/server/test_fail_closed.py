"""Fail closed: `unclip serve` does not start when a check its policy enables is not installed, unless the
operator waives that check by name; a waiver is logged at start and reported by `/health`."""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys

import httpx
import pytest

from unclip.errors import UnclipError
from unclip.server.app import FROM_SETTINGS
from unclip.server.settings import ServerSettings, load_settings

from .live import FASTEST, FakeEngine, LiveServer

NUDENET_INSTALLED = importlib.util.find_spec("nudenet") is not None


@pytest.fixture
def missing_nudity_model(tmp_path):
    """A policy whose nudity check cannot run on any machine: its model file does not exist."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[images]\nnudity_model = "no-such-320n.onnx"\n')
    return policy


def serve(*args: str, tmp_path) -> subprocess.CompletedProcess:
    """`unclip serve` as a real process, with a model folder that does not exist: the safety check must
    stop it before the model is looked at."""
    cmd = [
        sys.executable,
        "-m",
        "unclip.cli.main",
        "serve",
        "--model",
        str(tmp_path / "no-model"),
        "--data-dir",
        str(tmp_path / "data"),
        "--port",
        "0",
        "--log-format",
        "text",
        *args,
    ]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)


def test_serve_refuses_to_start_without_an_enabled_check(tmp_path, missing_nudity_model):
    done = serve("--policy", str(missing_nudity_model), tmp_path=tmp_path)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2, done.stderr
    assert last.startswith(
        "unclip: error: the content policy enables the nudity check, but it cannot run here"
    )
    assert "no-such-320n.onnx not found" in last and "--waive-check nudity" in last
    assert "Traceback" not in done.stderr and "no-model" not in last  # checked before the model is looked at


@pytest.mark.skipif(
    NUDENET_INSTALLED, reason="nudenet is installed here: the default policy's checks all run"
)
def test_the_default_policy_names_the_package_to_install(tmp_path):
    done = serve(tmp_path=tmp_path)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2 and "nudenet not installed" in last and "pip install 'nudenet==3.4.2'" in last
    assert "AGPL-3.0" in last  # the licence question stays visible where the operator decides


def test_with_the_waiver_it_starts_and_health_names_the_waived_check(
    tiny_engine, tmp_path, missing_nudity_model, caplog
):
    caplog.set_level(logging.WARNING, logger="unclip.server")
    settings = ServerSettings(
        steps_preset=FASTEST,
        data_dir=str(tmp_path / "data"),
        policy=str(missing_nudity_model),
        waive_checks=["nudity"],
    )
    server = LiveServer(settings, tiny_engine, FROM_SETTINGS).start()
    try:
        body = httpx.get(server.url + "/health").json()
        image = server.client().images.generate(
            prompt="a red apple", size="256x256", response_format="b64_json"
        )
    finally:
        server.stop()
    assert body["safety"] == "degraded" and body["safety_waived"] == ["nudity"]
    missing = f"model file {missing_nudity_model.parent / 'no-such-320n.onnx'} not found (policy images.nudity_model)"
    assert body["safety_checks"]["nudity"] == f"WAIVED: {missing}"
    assert body["safety_checks"]["classifier"] == "on" and body["safety_checks"]["faces"] == "on"
    assert image.data[0].b64_json  # the waived check does not block generation
    waived = [r.getMessage() for r in caplog.records if "SAFETY CHECK WAIVED" in r.getMessage()]
    assert waived == [f"SAFETY CHECK WAIVED: nudity does not run ({missing})"]


def test_a_check_the_policy_switches_off_needs_no_waiver(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('[images]\nnudity_model = "no-such-320n.onnx"\n[categories.sexual]\nimages = []\n')
    settings = ServerSettings(steps_preset=FASTEST, data_dir=str(tmp_path / "data"), policy=str(policy))
    server = LiveServer(settings, FakeEngine(), FROM_SETTINGS).start()
    try:
        body = httpx.get(server.url + "/health").json()
    finally:
        server.stop()
    assert body["safety"] == "on" and body["safety_waived"] == []
    assert body["safety_checks"]["nudity"] == "off (policy)"


def test_health_says_off_without_the_policy(make_server):
    server = make_server(FakeEngine(), policy=None, unsafe_disable_safety=True)
    body = httpx.get(server.url + "/health").json()
    assert body["safety"] == "OFF" and body["safety_checks"] == {} and body["safety_waived"] == []


def test_a_waiver_must_name_a_check(tmp_path):
    from unclip.server.guard import ContentGuard
    from unclip.server.metrics import Metrics

    with pytest.raises(
        UnclipError,
        match=r"waive_checks: unknown check 'nudty' \(checks that can be waived: "
        r"classifier, nudity, faces\)",
    ):
        ContentGuard.from_settings(ServerSettings(waive_checks=["nudty"]), Metrics())


def test_the_waiver_is_a_flag_an_environment_variable_and_a_config_key(tmp_path, capsys):
    from unclip.cli.main import main

    assert main(["serve", "--print-config", "--waive-check", "nudity", "--waive-check", "faces"]) == 0
    assert json.loads(capsys.readouterr().out)["waive_checks"] == ["nudity", "faces"]
    assert load_settings(None, {"UNCLIP_WAIVE_CHECKS": "nudity,classifier"}).waive_checks == [
        "nudity",
        "classifier",
    ]
    config = tmp_path / "server.toml"
    config.write_text('waive_checks = ["nudity"]\n')
    assert load_settings(config, {}).waive_checks == ["nudity"]
    with pytest.raises(SystemExit):
        main(["serve", "--print-config", "--waive-check", "everything"])
    assert "invalid choice: 'everything'" in capsys.readouterr().err
