"""Bad input the server used to answer with a 500 or a traceback, or accepted silently: unpaired
surrogates in prompts, absurdly nested JSON, non-finite settings, non-UTF-8 settings files, a data_dir
that is a file, a bad --device, and `serve --policy` (which was ignored)."""

from __future__ import annotations

import json

import httpx
import pytest

from unclip.errors import UnclipError
from unclip.server.metrics import Metrics
from unclip.server.settings import ServerSettings, load_settings
from unclip.server.storage import ImageStore
from unclip.utils.config import ConfigError

from .live import WAIVE


@pytest.fixture
def http(live):
    with httpx.Client(base_url=live.url, timeout=60) as c:
        yield c


def error_param(response: httpx.Response) -> tuple[str | None, str]:
    assert response.status_code == 400, response.text
    body = response.json()["error"]
    return body["param"], body["message"]


# ---------------------------------------------------------------------- requests
def test_prompt_with_an_unpaired_surrogate_is_a_400_not_a_500(http):
    raw = b'{"prompt": "\\ud800 apple", "size": "256x256", "response_format": "b64_json"}'
    r = http.post("/v1/images/generations", content=raw, headers={"content-type": "application/json"})
    param, message = error_param(r)
    assert param == "prompt" and "unpaired surrogate" in message


def test_deeply_nested_json_is_a_400_not_a_500(http):
    raw = b'{"prompt": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = http.post("/v1/images/generations", content=raw, headers={"content-type": "application/json"})
    param, message = error_param(r)
    assert param is None and "could not parse the JSON body" in message


# ---------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    ("flags", "match"),
    [
        ({"url_ttl_s": float("inf")}, "url_ttl_s must be a finite number"),
        ({"url_ttl_s": float("nan")}, "url_ttl_s must be a finite number"),
        ({"batch_wait_ms": float("nan")}, "batch_wait_ms must be a finite number"),
        ({"shutdown_timeout_s": float("inf")}, "shutdown_timeout_s must be a finite number"),
        ({"stage_settings": {"prior_guidance": float("nan")}}, "prior: guidance must be a finite number"),
    ],
)
def test_non_finite_numbers_are_rejected(flags, match):
    with pytest.raises(ConfigError, match=match):
        load_settings(None, {}, flags)


def test_settings_files_that_are_not_utf8(tmp_path):
    binary = tmp_path / "settings.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_settings(binary, {}, {})
    with pytest.raises(ConfigError, match="api_keys_file .*: not a UTF-8 text file"):
        ServerSettings(api_keys_file=str(binary)).all_api_keys()


def test_data_dir_that_is_a_file(tmp_path):
    path = tmp_path / "data"
    path.write_text("not a folder")
    with pytest.raises(UnclipError, match="data_dir .*: exists and is not a folder"):
        ImageStore(path, 60, 1000, 10)
    assert path.read_text() == "not a folder"


def test_serve_names_a_bad_device_before_loading_the_model(capsys, tiny_model_dir, tmp_path):
    from unclip.cli.main import main

    rc = main(["serve", "--model", str(tiny_model_dir), "--device", "nonsense", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "--device 'nonsense': not a device name" in err and "Traceback" not in err


@pytest.fixture
def restore_server_logging():  # type: ignore[no-untyped-def]
    """`unclip serve` points the server's loggers at this test's stderr; later tests need them back."""
    import logging

    names = ("unclip.server", "unclip.safety", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        n: (
            logging.getLogger(n).handlers[:],
            logging.getLogger(n).level,
            logging.getLogger(n).propagate,
            logging.getLogger(n).disabled,
        )
        for n in names
    }
    yield
    for n, (handlers, level, propagate, disabled) in saved.items():
        logger = logging.getLogger(n)
        logger.handlers[:], logger.propagate, logger.disabled = handlers, propagate, disabled
        logger.setLevel(level)


def test_serve_names_a_bad_data_dir_before_loading_the_model(capsys, tmp_path, restore_server_logging):
    from unclip.cli.main import main

    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    rc = main(["serve", "--model", str(tmp_path / "no-such-model"), "--data-dir", str(blocker)])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # not the missing model: the data folder is checked first
    assert rc == 2 and last == f"unclip: error: data_dir {blocker}: exists and is not a folder", err
    assert "Traceback" not in err and blocker.read_text() == "not a folder"


# ---------------------------------------------------------------------- the content policy file
def test_serve_policy_flag_is_a_setting(capsys, tmp_path):
    from unclip.cli.main import main

    policy = tmp_path / "policy.toml"
    assert main(["serve", "--print-config", "--policy", str(policy)]) == 0
    assert json.loads(capsys.readouterr().out)["policy"] == str(policy)


def test_serve_rejects_no_safety_instead_of_ignoring_it(capsys):
    from unclip.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["serve", "--print-config", "--no-safety"])
    assert e.value.code == 2 and "unrecognized arguments: --no-safety" in capsys.readouterr().err


def test_policy_setting_is_loaded_and_a_bad_one_named(tmp_path):
    from unclip.server.guard import ContentGuard

    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_key = 1\n")
    with pytest.raises(UnclipError, match="bad.toml"):
        ContentGuard.from_settings(ServerSettings(policy=str(bad)), Metrics())
    good = tmp_path / "lenient.toml"
    good.write_text('name = "lenient"\n[categories.faces]\naction = "allow"\n')
    guard = ContentGuard.from_settings(ServerSettings(policy=str(good), waive_checks=WAIVE), Metrics())
    assert guard.policy.config.name == "lenient" and guard.checks["faces"] == "off (policy)"
