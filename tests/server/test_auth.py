"""API keys: missing vs wrong key bodies (as OpenAI's), keys from flags/env/file, open image URLs, and
the loopback-only rule without keys."""

from __future__ import annotations

import httpx
import openai
import pytest

from unclip.server.runner import check_bind
from unclip.server.settings import ServerSettings, load_settings

from .live import FakeEngine, assert_error


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    from .live import LiveServer

    tmp = tmp_path_factory.mktemp("auth")
    keys_file = tmp / "keys.txt"
    keys_file.write_text("# operators\nsk-from-file-0001  # ops team\n\n")
    settings = load_settings(
        env={"UNCLIP_API_KEYS": "sk-from-env-0001,sk-from-env-0002"},
        flags={
            "api_keys": ["sk-from-flag-0001"],
            "api_keys_file": str(keys_file),
            "data_dir": str(tmp / "data"),
            "unsafe_disable_safety": True,
        },
    )
    server = LiveServer(settings, FakeEngine(), None).start()
    yield server
    server.stop()


def test_no_key_is_401_with_openais_missing_key_body(keyed):
    r = httpx.post(keyed.url + "/v1/images/generations", json={"prompt": "a cat", "size": "256x256"})
    assert r.status_code == 401
    body = r.json()["error"]
    assert body["message"].startswith("You didn't provide an API key.")
    assert (body["type"], body["param"], body["code"]) == ("invalid_request_error", None, None)
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "sk-from-env-0001"):
        r = httpx.get(keyed.url + "/v1/models", headers={"authorization": header})
        assert r.status_code == 401 and r.json()["error"]["code"] is None


def test_wrong_key_is_401_invalid_api_key_and_the_key_is_redacted(keyed):
    client = keyed.client(api_key="sk-wrong-key-123456789")
    with pytest.raises(openai.AuthenticationError) as e:
        client.images.generate(prompt="a cat", size="256x256")
    body = assert_error(e.value, 401, None, code="invalid_api_key")
    assert body["message"].startswith("Incorrect API key provided: sk-")
    assert "sk-wrong-key-123456789" not in body["message"] and body["message"].count("*") > 5
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


@pytest.mark.parametrize(
    "key", ["sk-from-env-0001", "sk-from-env-0002", "sk-from-flag-0001", "sk-from-file-0001"]
)
def test_every_configured_key_works(keyed, key):
    client = keyed.client(api_key=key)
    assert client.models.list().data[0].id == "dall-e-2"


def test_image_urls_health_and_metrics_need_no_key(keyed):
    result = keyed.client(api_key="sk-from-flag-0001").images.generate(prompt="a cat", size="256x256")
    assert httpx.get(result.data[0].url).status_code == 200
    assert httpx.get(keyed.url + "/health").json()["auth"] is True
    assert httpx.get(keyed.url + "/metrics").status_code == 200


def test_without_keys_only_loopback_binds():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(ServerSettings(host=host), [])
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(Exception, match="without API keys"):
            check_bind(ServerSettings(host=host), [])
        check_bind(ServerSettings(host=host), ["sk-key-1234567890ab"])


def test_cli_refuses_a_public_host_without_keys_before_loading_anything(capsys, monkeypatch):
    from unclip.cli.main import main

    monkeypatch.delenv("UNCLIP_API_KEYS", raising=False)
    code = main(["serve", "--host", "0.0.0.0", "--model", "/nonexistent/model"])
    assert code == 2
    assert "without API keys" in capsys.readouterr().err
