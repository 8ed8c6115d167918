"""Several server processes share one Redis (issue 22): every URL is served by every process, the per-key
rate limit and daily quota are the sum over all of them (429 with retry-after), usage per key and per
`user` is readable with `unclip keys usage`; a local data_dir refuses a second process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import openai
import pytest

from unclip.server.settings import redact_key

from .live import FakeEngine, assert_error
from .redis_server import RedisServer

KEY_A = "sk-team-a-0123456789abcdef"
KEY_B = "sk-team-b-0123456789abcxyz"


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def pair(make_server, redis_server, tmp_path):
    """Two servers (separate apps, stores and limiters) on one Redis, one rate limit of 5 requests/minute."""
    redis_server.client().flushdb()
    settings = {
        "redis_url": redis_server.url,
        "api_keys": [KEY_A, KEY_B],
        "rate_limit_rpm": 5,
        "quota_images_per_day": 35,
        "unsafe_disable_safety": True,
        "policy": None,
        "url_ttl_s": 600,
    }
    a = make_server(FakeEngine(), data_dir=str(tmp_path / "a"), **settings)
    b = make_server(FakeEngine(), data_dir=str(tmp_path / "b"), **settings)
    return a, b


def test_a_url_from_one_server_is_served_by_the_other(pair):
    a, b = pair
    urls = [d.url for d in a.client(KEY_A).images.generate(prompt="a cat", n=2, size="256x256").data]
    for url in urls:
        assert url.startswith(a.url)
        on_b = httpx.get(url.replace(a.url, b.url))
        assert on_b.status_code == 200 and on_b.content == httpx.get(url).content
        assert on_b.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert 590 <= int(on_b.headers["cache-control"].rpartition("=")[2]) <= 600
    assert httpx.get(b.url + "/images/" + "x" * 32 + ".png").status_code == 404


def test_the_rate_limit_is_the_sum_over_both_servers(pair):
    a, b = pair
    outcomes = []
    for i in range(10):
        server = (a, b)[i % 2]
        try:
            server.client(KEY_A).images.generate(prompt="a cat", size="256x256", response_format="b64_json")
            outcomes.append(200)
        except openai.APIStatusError as e:
            assert_error(e, 429, None, type_="requests", code="rate_limit_exceeded")
            assert 1 <= int(e.response.headers["retry-after"]) <= 60
            assert "5 image requests per minute" in e.body["message"]
            outcomes.append(429)
    assert outcomes == [200] * 5 + [429] * 5
    # another key has its own budget
    assert b.client(KEY_B).images.generate(prompt="a dog", size="256x256", response_format="b64_json").data


def test_the_daily_image_quota_is_shared_and_counted_in_images(pair):
    a, b = pair
    a.client(KEY_B).images.generate(prompt="a cat", n=10, size="256x256", response_format="b64_json")
    b.client(KEY_B).images.generate(prompt="a cat", n=10, size="256x256", response_format="b64_json")
    a.client(KEY_B).images.generate(prompt="a cat", n=10, size="256x256", response_format="b64_json")
    with pytest.raises(openai.APIStatusError) as e:
        b.client(KEY_B).images.generate(prompt="a cat", n=10, size="256x256", response_format="b64_json")
    assert e.value.status_code == 429 and "30 of 35 images used today" in e.value.body["message"]
    assert 1 <= int(e.value.response.headers["retry-after"]) <= 86_400
    assert (
        len(
            a.client(KEY_B)
            .images.generate(prompt="a cat", n=5, size="256x256", response_format="b64_json")
            .data
        )
        == 5
    )


def test_usage_per_key_and_user_is_read_by_unclip_keys_usage(pair, redis_server):
    a, b = pair
    a.client(KEY_A).images.generate(prompt="a cat", n=2, size="256x256", user="alice")
    b.client(KEY_A).images.generate(
        prompt="a cat", n=3, size="256x256", user="bob", response_format="b64_json"
    )
    b.client(KEY_A).images.generate(prompt="a cat", n=1, size="256x256", user="alice")
    a.client(KEY_B).images.generate(prompt="a cat", n=4, size="256x256")
    out = subprocess.run(
        [sys.executable, "-m", "unclip.cli.main", "keys", "usage", "--redis", redis_server.url, "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert out.returncode == 0, out.stderr
    rows = {r["key"]: r for r in json.loads(out.stdout)}
    assert set(rows) == {redact_key(KEY_A), redact_key(KEY_B)}
    assert (rows[redact_key(KEY_A)]["requests"], rows[redact_key(KEY_A)]["images"]) == (3, 6)
    assert rows[redact_key(KEY_B)] == {"key": redact_key(KEY_B), "requests": 1, "images": 4, "users": {}}
    assert rows[redact_key(KEY_A)]["users"] == {
        "alice": {"requests": 2, "images": 3},
        "bob": {"requests": 1, "images": 3},
    }
    assert (
        KEY_A not in out.stdout and KEY_B not in out.stdout
    )  # keys are never stored, only hashes and redacted labels
    table = subprocess.run(
        [sys.executable, "-m", "unclip.cli.main", "keys", "usage", "--redis", redis_server.url],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert table.returncode == 0 and "alice" in table.stdout and "bob" in table.stdout


def test_a_second_process_on_the_same_data_dir_is_refused(make_server, tmp_path):
    first = make_server(FakeEngine(), data_dir=str(tmp_path), unsafe_disable_safety=True, policy=None)
    url = first.client().images.generate(prompt="a cat", size="256x256").data[0].url
    in_progress = tmp_path / "tmp" / "upload.part"  # what a write in progress looks like
    in_progress.write_bytes(b"half a png")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "unclip.cli.main",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--unsafe-disable-safety",
            "--port",
            "0",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"unclip: error: data_dir {tmp_path} is in use by another unclip server (pid {os.getpid()})"
    )
    assert "--redis" in last and "Traceback" not in out.stderr
    # and it touched nothing of the first one's (before the lock, a starting process removed these)
    assert in_progress.read_bytes() == b"half a png" and httpx.get(url).status_code == 200


def test_an_unreachable_redis_is_one_clear_line(tmp_path):
    from .redis_server import free_port

    pytest.importorskip("redis", reason="the redis client is not installed: pip install -e '.[dev]'")

    url = f"redis://127.0.0.1:{free_port()}/0"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "unclip.cli.main",
            "serve",
            "--redis",
            url,
            "--data-dir",
            str(tmp_path),
            "--unsafe-disable-safety",
            "--port",
            "0",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(f"unclip: error: redis_url {url}: cannot connect")


def test_one_process_without_redis_has_the_same_limits_in_memory(make_server):
    live = make_server(FakeEngine(), unsafe_disable_safety=True, policy=None, rate_limit_rpm=2)
    client = live.client()
    client.images.generate(prompt="a cat", size="256x256", response_format="b64_json")
    client.images.generate(prompt="a cat", size="256x256", response_format="b64_json")
    with pytest.raises(openai.APIStatusError) as e:
        client.images.generate(prompt="a cat", size="256x256", response_format="b64_json")
    assert_error(e.value, 429, None, type_="requests", code="rate_limit_exceeded")
    assert live.state.limits.usage()[0].requests == 2
