"""API keys (issue 20, item 7): logs and messages show no more of a key than the last 4 characters of
a long one; a server reachable beyond loopback refuses keys short enough to guess; and failed
authentications are limited per client address (429 with retry-after, for a right key too)."""

from __future__ import annotations

import json

import httpx
import pytest

from unclip.cli.main import main
from unclip.server.runner import check_bind
from unclip.server.settings import ServerSettings

from .live import FakeEngine

KEY = "sk-team-0123456789abcdefXYZW"


@pytest.mark.parametrize("key", ["sk-abcdefg", "sk-abcdefghijklm", "abcdefghij", KEY])
def test_printed_settings_reveal_no_short_key_and_only_a_long_keys_last_4(key, capsys, tmp_path):
    assert main(["serve", "--api-key", key, "--data-dir", str(tmp_path), "--print-config"]) == 0
    (shown,) = json.loads(capsys.readouterr().out)["api_keys"]
    secret = key.removeprefix("sk-")
    revealed = [c for c, s in zip(shown.removeprefix("sk-"), secret) if c != "*"]
    if len(key) >= 20:
        assert shown.endswith(key[-4:]) and len(revealed) == 4 and len(secret) - 4 >= 16
    else:
        assert revealed == [], shown


def test_short_keys_are_refused_beyond_loopback():
    for key in ("x", "sk-team-1", "sk-0123456789ab"):
        with pytest.raises(Exception, match="shorter than 16 characters"):
            check_bind(ServerSettings(host="0.0.0.0"), [key])
        check_bind(ServerSettings(host="127.0.0.1"), [key])  # a loopback server may use any key
    check_bind(ServerSettings(host="0.0.0.0"), [KEY])


def test_cli_names_the_short_key_problem_before_loading(capsys, monkeypatch):
    monkeypatch.delenv("UNCLIP_API_KEYS", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--api-key", "x", "--model", "/nonexistent/model"]) == 2
    err = capsys.readouterr().err
    assert "shorter than 16 characters" in err and "secrets.token_urlsafe" in err


def test_failed_authentications_are_limited_per_client_address(make_server):
    server = make_server(
        FakeEngine(),
        policy=None,
        unsafe_disable_safety=True,
        api_keys=[KEY],
        auth_max_failures=5,
        auth_failure_window_s=30,
    )

    def models(key: str | None, source: str = "127.0.0.1") -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=source)
        headers = {"authorization": f"Bearer {key}"} if key else {}
        with httpx.Client(transport=transport) as http:
            return http.get(server.url + "/v1/models", headers=headers)

    assert [models(f"sk-guess-{i:012d}").status_code for i in range(5)] == [401] * 5
    blocked = models("sk-guess-999999999999")
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= 30
    assert blocked.json()["error"]["code"] == "rate_limit_exceeded"
    assert models(KEY).status_code == 429  # guessing right while blocked tells nothing
    assert models(None).status_code == 429
    assert models(KEY, source="127.0.0.2").status_code == 200  # other addresses are not affected
    assert httpx.get(server.url + "/health").status_code == 200  # nor endpoints without keys
